namespace Gatehouse.Examples.Shop.Orders;

/// <summary>One line of an order.</summary>
/// <param name="ProductId">Id of the product (products service).</param>
/// <param name="Quantity">How many; 1 or more.</param>
internal sealed record OrderItem(int ProductId, int Quantity);
