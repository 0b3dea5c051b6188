using System.Text;
using System.Text.Json.Nodes;
using BenchmarkDotNet.Attributes;
using Gatehouse.Gateway.Policies;
using Gatehouse.Gateway.Policies.Validation;
using Gatehouse.Gateway.Routing;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Bench.Policies;

/// <summary>
/// What request validation costs per request on a route that has it: parameters and a 1 KB JSON body (an order with
/// ten items) checked against an OpenAPI 3.0 schema, read from the request stream, parsed strictly and evaluated by
/// JsonSchema.Net. The baseline reads and parses the same body without a schema, so the difference is the schema's.
/// </summary>
[MemoryDiagnoser]
public class ValidationBenchmarks
{
    private const string Document = """
        { "openapi": "3.0.3", "info": { "title": "orders", "version": "1" },
          "paths": { "/orders": { "post": { "operationId": "orders.create",
            "parameters": [ { "name": "dryRun", "in": "query", "schema": { "type": "boolean" } } ],
            "requestBody": { "required": true, "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Order" } } } },
            "responses": { "201": { "description": "made" } } } } },
          "components": { "schemas": {
            "Order": { "type": "object", "required": ["userId", "items"], "properties": {
              "userId": { "type": "integer", "minimum": 1 }, "note": { "type": "string", "nullable": true, "maxLength": 500 },
              "items": { "type": "array", "minItems": 1, "maxItems": 100, "items": { "$ref": "#/components/schemas/Item" } } } },
            "Item": { "type": "object", "required": ["productId", "quantity"], "properties": {
              "productId": { "type": "integer" }, "quantity": { "type": "integer", "minimum": 1 }, "sku": { "type": "string", "pattern": "^[A-Z]{3}-[0-9]{4}$" } } } } } }
        """;

    private RequestValidator _validator = null!;
    private RoutePolicies _policies = null!;
    private byte[] _body = null!;

    [GlobalSetup]
    public void Setup()
    {
        var contract = OpenApiContracts.Read((JsonObject)JsonNode.Parse(Document)!, "/orders", "POST", openApi30: true)!;
        _validator = RequestValidator.Compile(new ValidationConfig(), "orders", contract)!;
        _policies = new RoutePolicies { Parameters = [], Validation = _validator };
        var items = string.Join(",", Enumerable.Range(1, 10).Select(i => $"{{\"productId\":{i},\"quantity\":{i + 1},\"sku\":\"ABC-{1000 + i}\",\"gift\":false,\"comment\":\"handle with care {i}\"}}"));
        _body = Encoding.UTF8.GetBytes($"{{\"userId\":42,\"note\":\"leave at the door, ring twice, the dog is friendly\",\"items\":[{items}]}}");
        if (_body.Length is < 900 or > 1300)
        {
            throw new InvalidOperationException($"the body is {_body.Length} bytes, not about 1 KB");
        }
    }

    private Json.Schema.JsonSchema _schema = null!;
    private System.Text.Json.JsonDocument _document = null!;
    private static readonly Json.Schema.EvaluationOptions Flag = new() { OutputFormat = Json.Schema.OutputFormat.Flag };

    private FastSchema _fast = null!;

    [GlobalSetup(Targets = [nameof(SchemaOnly), nameof(CompiledCheckOnly)])]
    public void SetupSchemaOnly()
    {
        Setup();
        var contract = OpenApiContracts.Read((JsonObject)JsonNode.Parse(Document)!, "/orders", "POST", openApi30: true)!;
        _schema = Json.Schema.JsonSchema.FromText(contract.Body!.Content["application/json"]!, new Json.Schema.BuildOptions { SchemaRegistry = new Json.Schema.SchemaRegistry() }, new Uri("urn:gatehouse:bench"));
        _fast = FastSchema.TryCompile(contract.Body!.Content["application/json"]!) ?? throw new InvalidOperationException("the order schema did not compile");
        _document = System.Text.Json.JsonDocument.Parse(_body);
    }

    /// <summary>JsonSchema.Net's evaluation alone (flag output) of the parsed body: the floor under Validate1KbBody.</summary>
    [Benchmark]
    public bool SchemaOnly() => _schema.Evaluate(_document.RootElement, Flag).IsValid;

    /// <summary>The compiled check (FastSchema) of the parsed body alone: what runs in place of the library for a valid body.</summary>
    [Benchmark]
    public bool CompiledCheckOnly() => _fast.Evaluate(_document.RootElement) == Verdict.Valid;

    /// <summary>Parsing as the validator does: duplicate keys refused, nesting bounded.</summary>
    [Benchmark]
    public int StrictParseOnly()
    {
        using var document = System.Text.Json.JsonDocument.Parse(_body, new System.Text.Json.JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
        return document.RootElement.GetArrayLength_Safe();
    }

    private PolicyExchange Exchange()
    {
        var context = new DefaultHttpContext();
        context.Request.Method = "POST";
        context.Request.Path = "/orders";
        context.Request.QueryString = new QueryString("?dryRun=false");
        context.Request.ContentType = "application/json";
        context.Request.ContentLength = _body.Length;
        context.Request.Body = new MemoryStream(_body, writable: false);
        return new PolicyExchange(_policies, context, default(RouteCaptures), "/orders", "id");
    }

    [Benchmark]
    public async Task<int> Validate1KbBody()
    {
        var outcome = await _validator.ValidateAsync(Exchange());
        return outcome.Status;
    }

    [Benchmark(Baseline = true)]
    public int ReadAndParseOnly()
    {
        var exchange = Exchange();
        using var document = System.Text.Json.JsonDocument.Parse(_body);
        return document.RootElement.GetArrayLength_Safe() + exchange.RequestId.Length;
    }
}

internal static class JsonExtensions
{
    public static int GetArrayLength_Safe(this System.Text.Json.JsonElement e) => e.ValueKind == System.Text.Json.JsonValueKind.Array ? e.GetArrayLength() : 0;
}
