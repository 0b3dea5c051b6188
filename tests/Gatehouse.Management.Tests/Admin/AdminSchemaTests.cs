using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Model.Schema;

namespace Gatehouse.Management.Tests.Admin;

/// <summary>The admin API serves the config's JSON Schema, and describes its config resource bodies with it.</summary>
[Trait("Issue", "17")]
public sealed class AdminSchemaTests
{
    [Fact]
    public async Task SchemaJson_IsThePublishedSchema()
    {
        await using var admin = await AdminHarness.StartAsync();

        using var response = await admin.Client.GetAsync("/admin/schema.json");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/schema+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(ConfigSchema.Published, await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/admin/services/{name}", "put", "ServiceConfig")]
    [InlineData("/admin/routes/{name}", "put", "RouteConfig")]
    [InlineData("/admin/plans/{name}", "put", "PlanConfig")]
    [InlineData("/admin/applications/{name}", "put", "ApplicationConfig")]
    [InlineData("/admin/compositions/{name}", "put", "CompositionConfig")]
    [InlineData("/admin/gateway", "put", "GatewayConfig")]
    [InlineData("/admin/config", "post", "GatehouseDocument")]
    public async Task OpenApi_ConfigResourceBodies_AreTheSchemasDefinitions(string path, string method, string definition)
    {
        await using var admin = await AdminHarness.StartAsync();
        using var response = await admin.Client.GetAsync("/admin/openapi.json");
        var document = await AdminHarness.ReadObjectAsync(response);

        var schema = document["paths"]![path]![method]!["requestBody"]!["content"]!["application/json"]!["schema"]!;
        Assert.Equal($"#/components/schemas/{definition}", (string)schema["$ref"]!);

        // The definition is there, and every reference anywhere in the document resolves inside it.
        var components = document["components"]!.AsObject();
        Assert.True(components["schemas"]!.AsObject().ContainsKey(definition));
        foreach (var reference in References(document))
        {
            // #/components/KIND/NAME (schemas, responses, parameters): each resolves inside the document.
            Assert.StartsWith("#/components/", reference, StringComparison.Ordinal);
            var parts = reference["#/components/".Length..].Split('/');
            Assert.True(parts.Length == 2 && components[parts[0]] is JsonObject kind && kind.ContainsKey(parts[1]), reference);
        }
    }

    private static IEnumerable<string> References(JsonNode? node) => node switch
    {
        JsonObject o => o.SelectMany(p => p.Key == "$ref" ? [(string)p.Value!] : References(p.Value)),
        JsonArray a => a.SelectMany(References),
        _ => [],
    };
}
