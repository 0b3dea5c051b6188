using System.Text.Json;
using Microsoft.OpenApi;

namespace Gatehouse.Examples.Shop.Tests;

/// <summary>The gateway imports operations from these documents, by operationId.</summary>
public sealed class OpenApiDocumentTests(ShopFixture shop) : IClassFixture<ShopFixture>
{
    public static TheoryData<string, string[]> Operations => new()
    {
        { "users", ["users.listUsers", "users.getUser"] },
        { "products", ["products.listProducts", "products.getProduct"] },
        { "orders", ["orders.listOrders", "orders.getOrder", "orders.createOrder"] },
    };

    [Theory]
    [MemberData(nameof(Operations))]
    public async Task OpenApiJson_EveryService_HasExactlyItsOperationIdsEachTagged(string service, string[] expected)
    {
        var document = await shop.For(service).GetJsonAsync("/openapi.json");

        Assert.StartsWith("3.", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var operations = document.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject())
            .Select(operation => operation.Value)
            .ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), operations.Select(o => o.GetProperty("operationId").GetString()).Order(StringComparer.Ordinal));
        Assert.All(operations, o => Assert.Equal([service], o.GetProperty("tags").EnumerateArray().Select(t => t.GetString())));
    }

    [Theory]
    [InlineData("users")]
    [InlineData("products")]
    [InlineData("orders")]
    public async Task OpenApiJson_EveryService_IsAValidOpenApi3Document(string service)
    {
        var json = await shop.For(service).GetStringAsync(new Uri("/openapi.json", UriKind.Relative));

        var (document, diagnostic) = OpenApiDocument.Parse(json, "json");

        Assert.NotNull(document);
        Assert.NotNull(diagnostic);
        Assert.Empty(diagnostic.Errors);
        Assert.Contains(diagnostic.SpecificationVersion, new[] { OpenApiSpecVersion.OpenApi3_0, OpenApiSpecVersion.OpenApi3_1 });
        Assert.Empty(document.Validate(ValidationRuleSet.GetDefaultRuleSet()));
        Assert.Equal($"Gatehouse demo shop: {service}", document.Info.Title);
    }

    [Theory]
    [InlineData("users")]
    [InlineData("products")]
    [InlineData("orders")]
    public async Task OpenApiJson_EveryService_LeavesOutHealth(string service)
    {
        var document = await shop.For(service).GetJsonAsync("/openapi.json");

        Assert.False(document.GetProperty("paths").TryGetProperty("/health", out _), "/health is for the gateway's probes, not an operation to publish.");
        Assert.Equal(JsonValueKind.Object, document.GetProperty("paths").ValueKind);
    }
}
