using Microsoft.AspNetCore.OpenApi;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Examples.Shop.Orders;

/// <summary>
/// States in the orders document which fields of <c>POST /orders</c> are required. The fields are nullable in C# so
/// that the service can name a missing one itself, which also keeps them out of the generated <c>required</c> lists;
/// the contract says what the service really demands, so the gateway can check it (validate: enforce).
/// </summary>
internal static class OrderSchemas
{
    public static void AddRequiredFields(IServiceCollection services) =>
        services.ConfigureAll<OpenApiOptions>(options => options.AddSchemaTransformer((schema, context, _) =>
        {
            var type = context.JsonTypeInfo.Type;
            if (type == typeof(CreateOrderRequest))
            {
                schema.Required = new HashSet<string>(StringComparer.Ordinal) { "userId", "items" };
            }
            else if (type == typeof(CreateOrderItem))
            {
                schema.Required = new HashSet<string>(StringComparer.Ordinal) { "productId", "quantity" };
            }

            return Task.CompletedTask;
        }));
}
