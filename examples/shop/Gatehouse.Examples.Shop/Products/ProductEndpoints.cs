using System.ComponentModel;
using System.Globalization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Examples.Shop.Products;

/// <summary>The products service's HTTP API.</summary>
internal static class ProductEndpoints
{
    public static void Map(IEndpointRouteBuilder routes)
    {
        var products = routes.MapGroup("/products").WithTags("products");

        products.MapGet("/", ListProducts)
            .WithName("products.listProducts")
            .WithSummary("List products, or several by id")
            .WithDescription(
                "Without `ids`, the whole catalogue. With `ids=1,2,3`, those products in the order asked, " +
                "each once; ids that do not exist are left out, so a batched lookup can tell which are missing.")
            .ProducesProblem(StatusCodes.Status400BadRequest);

        products.MapGet("/{id:int}", GetProduct)
            .WithName("products.getProduct")
            .WithSummary("Get one product")
            .ProducesProblem(StatusCodes.Status404NotFound);
    }

    private static Results<Ok<IReadOnlyList<Product>>, ProblemHttpResult> ListProducts(
        [Description("Comma-separated product ids, for example `1,2,3`. Leave out for the whole catalogue.")] string? ids)
    {
        if (ids is null)
        {
            return TypedResults.Ok(ProductData.All);
        }

        var found = new List<Product>();
        var seen = new HashSet<int>();
        foreach (var part in ids.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                return TypedResults.Problem(
                    statusCode: StatusCodes.Status400BadRequest,
                    title: "Invalid product id",
                    detail: $"'{part}' in ids is not a product id. Give ids as whole numbers separated by commas, for example ids=1,2,3.");
            }

            if (seen.Add(id) && ProductData.ById.TryGetValue(id, out var product))
            {
                found.Add(product);
            }
        }

        return TypedResults.Ok<IReadOnlyList<Product>>(found);
    }

    private static Results<Ok<Product>, ProblemHttpResult> GetProduct(int id) =>
        ProductData.ById.TryGetValue(id, out var product)
            ? TypedResults.Ok(product)
            : TypedResults.Problem(
                statusCode: StatusCodes.Status404NotFound,
                title: "Product not found",
                detail: $"There is no product with id {id}. GET /products lists the products that exist.");
}
