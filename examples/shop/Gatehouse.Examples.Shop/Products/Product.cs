namespace Gatehouse.Examples.Shop.Products;

/// <summary>Something the shop sells.</summary>
/// <param name="Id">The product's id.</param>
/// <param name="Name">Display name.</param>
/// <param name="Price">Unit price, in <c>currency</c>.</param>
/// <param name="Currency">ISO 4217 code of the currency of <c>price</c>.</param>
internal sealed record Product(int Id, string Name, decimal Price, string Currency);
