using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Compositions;

/// <summary>
/// What a new user could not express (issue 24): an empty answer as a 404, what a batched call's missing items do,
/// typed path parameters, and Server-Timing that does not list steps that never ran as if they had.
/// </summary>
[Trait("Issue", "24")]
public sealed class CompositionStepOptionsTests : IAsyncLifetime
{
    private TestBackend _backend = null!;

    public async Task InitializeAsync()
    {
        _backend = await TestBackend.StartAsync(app => app.Run(async context =>
        {
            var path = context.Request.Path.Value!;
            switch (path)
            {
                case "/products":
                    // Product 2 does not exist: a batched call for it returns the others only.
                    var ids = context.Request.Query["ids"].ToString().Split(',').Where(id => id != "2");
                    await context.Response.WriteAsJsonAsync(ids.Select(id => new { id, name = "Product " + id }));
                    break;
                case "/orders":
                    await context.Response.WriteAsJsonAsync(new[] { new { productId = "1" }, new { productId = "2" }, new { productId = "3" } });
                    break;
                case "/search":
                    await context.Response.WriteAsJsonAsync(context.Request.Query["q"] == "none" ? Array.Empty<object>() : new[] { new { id = 1 } });
                    break;
                case "/missing":
                    context.Response.StatusCode = 404;
                    break;
                default:
                    await context.Response.WriteAsJsonAsync(new { id = path });
                    break;
            }
        }));
    }

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    private string Yaml(string compositions) => $$"""
        version: 1
        services:
          shop:
            targets: [{{_backend.Url}}]
        compositions:
        {{compositions}}
        """;

    private static string Batched(string missing) => $$"""
          joined:
            path: /joined
            steps:
              orders: { service: shop, path: /orders }
              products:
                service: shop
                path: /products
                forEach: "@orders.body[*].productId"
                batch: { param: ids, key: id{{(missing.Length == 0 ? "" : ", missing: " + missing)}} }
                statusMap: { 404: 404 }
            response:
              products: "@products.body"
              items: { "@each": "@orders.body", "@value": "@item", product: { "@lookup": "@products.body", "@by": "@item.productId" } }
        """;

    [Fact]
    public async Task BatchMissingByDefault_DropsTheItem_AndItsJoinIsNull()
    {
        await using var gw = await TestGateway.StartAsync(Yaml(Batched("")));
        var json = await OkAsync(gw, "/joined");
        Assert.Equal(["1", "3"], json["products"]!.AsArray().Select(p => p!["id"]!.GetValue<string>()));
        Assert.Null(json["items"]![1]!["product"]);
        Assert.Equal("Product 3", json["items"]![2]!["product"]!["name"]!.GetValue<string>());
    }

    [Fact]
    public async Task BatchMissingNull_KeepsANullInTheItemsPlace()
    {
        await using var gw = await TestGateway.StartAsync(Yaml(Batched("null")));
        var json = await OkAsync(gw, "/joined");
        var products = json["products"]!.AsArray();
        Assert.Equal(3, products.Count);
        Assert.Null(products[1]);
        Assert.Equal("3", products[2]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task BatchMissingFail_AnswersTheStatusMappedFor404_NamingTheItem()
    {
        await using var gw = await TestGateway.StartAsync(Yaml(Batched("fail")));
        var response = await gw.Client.GetAsync("/joined");
        var text = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        var problem = JsonNode.Parse(text)!;
        Assert.Equal("urn:gatehouse:problem:composition-batch-incomplete", problem["type"]!.GetValue<string>());
        Assert.Contains("item '2'", problem["detail"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void BatchMissing_OtherThanTheThreeChoices_IsAConfigError()
    {
        var errors = Gatehouse.Model.Loading.ConfigLoader.Load(Yaml(Batched("skip")), Path.GetTempPath()).Errors;
        var error = Assert.Single(errors);
        Assert.Equal("compositions.joined.steps.products.batch.missing", error.Path);
        Assert.Contains("drop", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("none", HttpStatusCode.NotFound)]
    [InlineData("shoes", HttpStatusCode.OK)]
    public async Task WhenEmpty_TurnsAnEmptyListInto404_AndLeavesOthersAlone(string query, HttpStatusCode expected)
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              find:
                path: "/find/{q}"
                steps:
                  hits: { service: shop, path: /search, query: { q: "@request.path.q" }, whenEmpty: 404 }
                response: { first: "@hits.body[0]" }
            """));
        var response = await gw.Client.GetAsync($"/find/{query}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, text);
        if (expected == HttpStatusCode.NotFound)
        {
            Assert.Equal("urn:gatehouse:problem:composition-step-empty", JsonNode.Parse(text)!["type"]!.GetValue<string>());
        }
        else
        {
            Assert.Equal(1, JsonNode.Parse(text)!["first"]!["id"]!.GetValue<int>());
        }
    }

    [Fact]
    public async Task NumberOfAPathParameter_AnswersANumber()
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              typed:
                path: "/typed/{id}"
                steps:
                  thing: { service: shop, path: "/items/{id}", params: { id: "@request.path.id" } }
                response: { id: { "@number": "@request.path.id" }, asText: "@request.path.id" }
            """));
        var json = await OkAsync(gw, "/typed/42");
        Assert.Equal(JsonValueKindOf("42"), json["id"]!.GetValueKind());
        Assert.Equal(42, json["id"]!.GetValue<int>());
        Assert.Equal("42", json["asText"]!.GetValue<string>());
    }

    [Fact]
    public async Task ServerTiming_MarksStepsThatNeverRanAsSkipped()
    {
        await using var gw = await TestGateway.StartAsync(Yaml("""
              chain:
                path: /chain
                serverTiming: true
                steps:
                  first: { service: shop, path: /missing, statusMap: { 404: 404 } }
                  second: { service: shop, path: "/items/{id}", params: { id: "@first.body.id" } }
                response: { second: "@second.body" }
            """));
        var response = await gw.Client.GetAsync("/chain");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var timing = response.Headers.GetValues("Server-Timing").Single();
        Assert.Matches("^first;dur=[0-9.]+, second;desc=\"skipped\"$", timing);
    }

    private static System.Text.Json.JsonValueKind JsonValueKindOf(string json) => JsonNode.Parse(json)!.GetValueKind();

    private static async Task<JsonNode> OkAsync(TestGateway gw, string path)
    {
        var response = await gw.Client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        return JsonNode.Parse(text)!;
    }
}
