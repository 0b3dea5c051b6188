namespace Gatehouse.Examples.Shop.Orders;

/// <summary>One line of the body of <c>POST /orders</c>.</summary>
/// <param name="ProductId">Id of an existing product. Required.</param>
/// <param name="Quantity">How many; 1 or more. Required.</param>
internal sealed record CreateOrderItem(int? ProductId, int? Quantity);
