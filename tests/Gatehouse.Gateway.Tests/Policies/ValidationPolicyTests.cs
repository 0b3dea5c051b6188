using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// Issue 23, OpenAPI request validation: invalid requests get 400 problem+json listing each error with its pointer and
/// never reach the service; content-type tricks, duplicate keys, huge numbers, deep nesting and oversized bodies are
/// each checked or refused, never passed unchecked.
/// </summary>
[Trait("Issue", "23")]
public sealed class ValidationPolicyTests
{
    // OpenAPI 3.0, so the 3.0 → 2020-12 conversion (nullable, $ref to components) is exercised.
    private const string Document = """
        {
          "openapi": "3.0.3",
          "info": { "title": "orders", "version": "1" },
          "paths": {
            "/orders": {
              "post": {
                "operationId": "orders.create",
                "parameters": [ { "name": "dryRun", "in": "query", "schema": { "type": "boolean" } } ],
                "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } },
                "responses": { "201": { "description": "made" } }
              }
            },
            "/orders/{id}": {
              "get": {
                "operationId": "orders.get",
                "parameters": [
                  { "name": "id", "in": "path", "required": true, "schema": { "type": "integer", "minimum": 1 } },
                  { "name": "X-Tenant", "in": "header", "required": true, "schema": { "type": "string", "maxLength": 8 } },
                  { "name": "limit", "in": "query", "schema": { "type": "integer", "maximum": 50 } },
                  { "name": "page", "in": "query", "schema": { "$ref": "#/components/schemas/Page" } },
                  { "name": "ids", "in": "query", "schema": { "type": "array", "items": { "type": "string", "maxLength": 3 } } },
                  { "name": "tags", "in": "query", "schema": { "$ref": "#/components/schemas/Tags" } }
                ],
                "responses": { "200": { "description": "ok" } }
              }
            }
          },
          "components": { "schemas": {
            "Order": { "type": "object", "required": ["userId", "items"], "properties": {
              "userId": { "type": "integer" },
              "note": { "type": "string", "nullable": true },
              "items": { "type": "array", "minItems": 1, "items": { "$ref": "#/components/schemas/Item" } } } },
            "Page": { "type": "integer", "minimum": 1 },
            "Tags": { "type": "array", "items": { "type": "string", "maxLength": 5 } },
            "Item": { "type": "object", "required": ["productId"], "properties": { "productId": { "type": "integer" }, "quantity": { "type": "number" }, "size": { "enum": [1, 2, 3] } } }
          } }
        }
        """;

    private static async Task<(TestGateway Gateway, RecordingBackend Backend, TempDirectory Dir)> StartAsync(string mode = "enforce", string maxBody = "1KB")
    {
        var backend = await RecordingBackend.StartAsync();
        var dir = new TempDirectory();
        var file = dir.Write("orders.json", Document);
        var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              orders:
                targets: [{{backend.Url}}]
                openapi: { file: "{{file}}" }
                policies:
                  validate: { request: {{mode}}, maxBodySize: {{maxBody}} }
            routes:
              create: { operation: orders.create, path: /orders }
              get: { operation: orders.get, path: "/orders/{id}" }
            """);
        return (gateway, backend, dir);
    }

    private static async Task<(HttpResponseMessage Response, JsonElement Problem)> PostAsync(TestGateway gateway, string body, string contentType = "application/json", string path = "/orders")
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = await gateway.Client.PostAsync(path, content);
        var text = await response.Content.ReadAsStringAsync();
        return (response, text.StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }

    private static string[] Pointers(JsonElement problem) =>
        [.. problem.GetProperty("errors").EnumerateArray().Select(e => e.GetProperty("in").GetString() + ":" + e.GetProperty("pointer").GetString())];

    [Fact]
    public async Task ValidBody_IsForwarded_Byte_For_Byte()
    {
        var (gateway, backend, dir) = await StartAsync();
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        const string body = "{\"userId\":1,\"note\":null,\"items\":[{\"productId\":3,\"quantity\":2}]}";
        var (response, _) = await PostAsync(gateway, body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, Assert.Single(backend.Seen).Body);
    }

    [Fact]
    public async Task BodyWithoutUserId_Gets400NamingThePointer_AndTheServiceNeverSeesIt()
    {
        var (gateway, backend, dir) = await StartAsync();
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        var (response, problem) = await PostAsync(gateway, "{\"items\":[{\"quantity\":\"two\"}]}");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("urn:gatehouse:problem:invalid-request", problem.GetProperty("type").GetString());
        var pointers = Pointers(problem);
        Assert.Contains("body:/userId", pointers);
        Assert.Contains("body:/items/0/productId", pointers);
        Assert.Contains("body:/items/0/quantity", pointers);
        Assert.Equal(0, backend.Count);
    }

    [Theory]
    [InlineData("{\"userId\":1,\"userId\":\"x\",\"items\":[{\"productId\":1}]}", "application/json")] // duplicate keys
    [InlineData("{\"userId\":1e400,\"items\":[{\"productId\":1}]}", "application/json")] // outside a double
    [InlineData("{\"userId\":1,\"items\":[{\"productId\":1}]", "application/json")] // not JSON
    [InlineData("{\"userId\":1,\"items\":[{\"productId\":1,\"size\":1e300}]}", "application/json")] // a double beyond a decimal, in an enum
    public async Task BodiesThatParsersReadDifferently_AreRefused(string body, string contentType)
    {
        var (gateway, backend, dir) = await StartAsync();
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        var (response, _) = await PostAsync(gateway, body, contentType);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task DeepNesting_IsRefused()
    {
        var (gateway, backend, dir) = await StartAsync(maxBody: "64KB");
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        var deep = "{\"userId\":1,\"items\":[{\"productId\":1}],\"x\":" + new string('[', 200) + new string(']', 200) + "}";
        var (response, _) = await PostAsync(gateway, deep);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(0, backend.Count);
    }

    [Theory]
    [InlineData("application/json; charset=utf-16")]
    [InlineData("application/vnd.x+json")]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    public async Task ContentTypeTricks_AreRefused_415(string contentType)
    {
        var (gateway, backend, dir) = await StartAsync();
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        var (response, problem) = await PostAsync(gateway, "{\"items\":[]}", contentType);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        Assert.Equal("urn:gatehouse:problem:unsupported-media-type", problem.GetProperty("type").GetString());
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task BodyLargerThanTheValidationLimit_Gets413_AndNeverPassesUnchecked()
    {
        var (gateway, backend, dir) = await StartAsync(maxBody: "1KB");
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        var big = "{\"userId\":1,\"items\":[{\"productId\":1}],\"pad\":\"" + new string('x', 2000) + "\"}";
        var (response, problem) = await PostAsync(gateway, big);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("urn:gatehouse:problem:validation-body-too-large", problem.GetProperty("type").GetString());
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task PathQueryAndHeaderParameters_AreChecked()
    {
        var (gateway, backend, dir) = await StartAsync();
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        var (badPath, badPathBody) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/abc", ("X-Tenant", "t1"));
        var (noHeader, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/7");
        var (good, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/7", ("X-Tenant", "t1"));
        var (badQuery, _) = await PostAsync(gateway, "{\"userId\":1,\"items\":[{\"productId\":1}]}", path: "/orders?dryRun=maybe");

        Assert.Equal(HttpStatusCode.BadRequest, badPath.StatusCode);
        Assert.Contains("\"in\":\"path\"", badPathBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, noHeader.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badQuery.StatusCode);
        Assert.Equal(HttpStatusCode.OK, good.StatusCode);
        Assert.Equal(1, backend.Count);
    }

    [Theory]
    [InlineData("/orders/7?limit=1&limit=999", "query", "limit")]
    [InlineData("/orders/7?limit=999&limit=1", "query", "limit")]
    [InlineData("/orders/7?limit=1&LIMIT=999", "query", "limit")]
    [InlineData("/orders/7?limit=1&%6Cimit=999", "query", "limit")]
    [InlineData("/orders/7?limit=1&limit=2", "query", "limit")]
    [InlineData("/orders/7?page=1&page=2", "query", "page")]
    public async Task AParameterThatIsNotAnArray_SentTwice_Gets400NamingIt_AndNeverReachesTheService(string target, string where, string name)
    {
        var (gateway, backend, dir) = await StartAsync();
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        var (response, body) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, target, ("X-Tenant", "t1"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal("urn:gatehouse:problem:invalid-request", problem.GetProperty("type").GetString());
        var error = Assert.Single(problem.GetProperty("errors").EnumerateArray());
        Assert.Equal(where, error.GetProperty("in").GetString());
        Assert.Equal(name, error.GetProperty("name").GetString());
        Assert.Contains("2 times", error.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task AHeaderParameterThatIsNotAnArray_SentOnTwoLines_Gets400NamingIt()
    {
        var (gateway, backend, dir) = await StartAsync();
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        // The first value would pass maxLength 8; the second would not, and must not go unchecked.
        var (response, body) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/7", ("X-Tenant", "t1"), ("X-Tenant", "much-too-long-tenant"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = Assert.Single(JsonDocument.Parse(body).RootElement.GetProperty("errors").EnumerateArray());
        Assert.Equal("header", error.GetProperty("in").GetString());
        Assert.Equal("X-Tenant", error.GetProperty("name").GetString());
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task ArrayParameters_MayBeSentMoreThanOnce_AndAParameterWhoseSchemaIsARef_IsReadAsItsTargetsType()
    {
        var (gateway, backend, dir) = await StartAsync();
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        var (arrays, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/7?ids=1&ids=2&tags=a&tags=b&limit=50&page=3", ("X-Tenant", "t1"));
        var (badItem, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/7?ids=1&ids=toolong", ("X-Tenant", "t1"));
        var (badPage, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/7?page=0", ("X-Tenant", "t1"));

        Assert.Equal(HttpStatusCode.OK, arrays.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badItem.StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, badPage.StatusCode);
        Assert.Equal(1, backend.Count);
    }

    [Fact]
    public async Task ShadowMode_LetsInvalidRequestsThrough()
    {
        var (gateway, backend, dir) = await StartAsync(mode: "shadow");
        await using var _ = gateway;
        await using var __ = backend;
        using var ___ = dir;

        var (response, _) = await PostAsync(gateway, "{\"items\":[]}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{\"items\":[]}", Assert.Single(backend.Seen).Body);
    }
}
