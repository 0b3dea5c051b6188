namespace Gatehouse.Examples.Shop.Orders;

/// <summary>The body of <c>POST /orders</c>.</summary>
/// <remarks>Fields are nullable so that a missing field is reported by name instead of read as 0.</remarks>
/// <param name="UserId">Id of the user placing the order. Required.</param>
/// <param name="Items">What to order. At least one.</param>
internal sealed record CreateOrderRequest(int? UserId, IReadOnlyList<CreateOrderItem?>? Items);
