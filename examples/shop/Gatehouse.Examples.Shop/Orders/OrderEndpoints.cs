using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Examples.Shop.Orders;

/// <summary>The orders service's HTTP API.</summary>
internal static class OrderEndpoints
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        var orders = routes.MapGroup("/orders").WithTags("orders");

        orders.MapGet("/", ListOrders)
            .WithName("orders.listOrders")
            .WithSummary("List orders, or one user's orders");

        orders.MapGet("/{id:int}", GetOrder)
            .WithName("orders.getOrder")
            .WithSummary("Get one order")
            .ProducesProblem(StatusCodes.Status404NotFound);

        orders.MapPost("/", CreateOrder)
            .WithName("orders.createOrder")
            .WithSummary("Place an order");
    }

    private static Ok<IReadOnlyList<Order>> ListOrders(
        OrderStore store,
        [Description("Only this user's orders. Leave out for all orders.")] int? userId) =>
        TypedResults.Ok(store.List(userId));

    private static Results<Ok<Order>, ProblemHttpResult> GetOrder(int id, OrderStore store) =>
        store.Find(id) is { } order
            ? TypedResults.Ok(order)
            : TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Order not found",
                detail: $"There is no order with id {id}. GET /orders lists the orders that exist.");

    private static Results<Created<Order>, ValidationProblem> CreateOrder([FromBody] CreateOrderRequest request, OrderStore store)
    {
        var errors = CreateOrderValidator.Validate(request);
        if (errors.Count > 0)
        {
            return TypedResults.ValidationProblem(
                errors,
                title: "The order is not valid",
                detail: "No order was created. Fix the fields listed in errors and send it again.");
        }

        // Validate has checked that every value below is present.
        var items = request.Items!.Select(i => new OrderItem(i!.ProductId!.Value, i.Quantity!.Value)).ToList();
        var order = store.Add(request.UserId!.Value, items);

        // Relative, so that it stays right when the gateway serves this API under its own host.
        return TypedResults.Created($"/orders/{order.Id}", order);
    }
}
