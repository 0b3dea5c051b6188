using Gatehouse.Examples.Shop.Products;
using Gatehouse.Examples.Shop.Users;

namespace Gatehouse.Examples.Shop.Orders;

/// <summary>Checks the body of <c>POST /orders</c>.</summary>
/// <remarks>
/// The shop's users and products are fixed and live in this assembly, so ids are checked against them
/// directly. A real orders service would ask the users and products services instead; here that would
/// only add a startup order to the demo.
/// </remarks>
internal static class CreateOrderValidator
{
    /// <summary>Every problem with <paramref name="request"/>, keyed by the JSON path of the field; empty when it is valid.</summary>
    public static Dictionary<string, string[]> Validate(CreateOrderRequest request)
    {
        var errors = new Dictionary<string, string[]>();

        if (request.UserId is not { } userId)
        {
            errors["userId"] = ["userId is required: the id of the user placing the order."];
        }
        else if (!UserData.ById.ContainsKey(userId))
        {
            errors["userId"] = [$"There is no user with id {userId}."];
        }

        if (request.Items is not { Count: > 0 } items)
        {
            errors["items"] = ["items must list at least one product, for example [{\"productId\": 3, \"quantity\": 2}]."];
            return errors;
        }

        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not { } item)
            {
                errors[$"items[{i}]"] = ["Each item must be an object with productId and quantity."];
                continue;
            }

            if (item.ProductId is not { } productId)
            {
                errors[$"items[{i}].productId"] = ["productId is required."];
            }
            else if (!ProductData.ById.ContainsKey(productId))
            {
                errors[$"items[{i}].productId"] = [$"There is no product with id {productId}."];
            }

            if (item.Quantity is not >= 1)
            {
                errors[$"items[{i}].quantity"] = ["quantity is required and must be 1 or more."];
            }
        }

        return errors;
    }
}
