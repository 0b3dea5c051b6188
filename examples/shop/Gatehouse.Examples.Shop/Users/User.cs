namespace Gatehouse.Examples.Shop.Users;

/// <summary>A customer of the shop.</summary>
/// <param name="Id">The user's id.</param>
/// <param name="Name">Full name.</param>
/// <param name="Email">Contact address.</param>
internal sealed record User(int Id, string Name, string Email);
