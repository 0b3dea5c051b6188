namespace Gatehouse.Examples.Shop.Orders;

/// <summary>An order placed by a user.</summary>
/// <param name="Id">The order's id.</param>
/// <param name="UserId">Id of the user who placed it (users service).</param>
/// <param name="CreatedAt">When it was placed, in UTC.</param>
/// <param name="Items">What was ordered.</param>
internal sealed record Order(int Id, int UserId, DateTimeOffset CreatedAt, IReadOnlyList<OrderItem> Items);
