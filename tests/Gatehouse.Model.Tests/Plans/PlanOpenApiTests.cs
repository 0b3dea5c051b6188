using System.Text.Json.Nodes;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Plans;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Plans;

/// <summary>Issue #18: a plan's own OpenAPI document is the projection of the services' documents that the plan grants.</summary>
[Trait("Issue", "18")]
public sealed class PlanOpenApiTests : IDisposable
{
    // OpenAPI 3.0 on purpose: the plan document is 3.1 whatever the source is.
    private const string UsersDocument = """
        {
          "openapi": "3.0.3",
          "info": { "title": "Users", "version": "1" },
          "paths": {
            "/users/{id}": {
              "parameters": [ { "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } } ],
              "get": {
                "operationId": "getUser", "tags": ["users"], "summary": "One user", "description": "Reads a user <b>by id</b>.",
                "responses": { "200": { "description": "The user", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/User" } } } } }
              },
              "put": {
                "operationId": "updateUser", "tags": ["users"],
                "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/UserUpdate" } } } },
                "responses": { "200": { "description": "Updated" } }
              }
            }
          },
          "components": {
            "schemas": {
              "User": { "type": "object", "properties": { "id": { "type": "integer" }, "address": { "$ref": "#/components/schemas/Address" }, "nick": { "type": "string", "nullable": true } } },
              "Address": { "type": "object", "properties": { "city": { "type": "string" } } },
              "UserUpdate": { "type": "object", "properties": { "name": { "type": "string" } } },
              "Unused": { "type": "object" }
            }
          }
        }
        """;

    private readonly TempDirectory _dir = new();

    private string Yaml => $$"""
        version: 1
        gateway:
          apiKeys: { header: X-Shop-Key }
        services:
          users:
            targets: [http://127.0.0.1:5001]
            openapi: { file: "{{_dir.File("users.json", UsersDocument)}}" }
        routes:
          users-get: { operation: getUser, path: "/api/users/{id}" }
          users-put: { operation: updateUser, path: "/api/users/{id}" }
          legacy: { methods: [GET, POST], path: "/legacy/{**rest}", service: users }
        compositions:
          profile:
            path: "/profiles/{id}"
            tags: [users]
            steps: { user: { operation: getUser, params: { id: "@request.path.id" } } }
        plans:
          retail: { title: Retail, include: [ { tag: users, access: read } ] }
          full: { approvalRequired: true, include: [ { tag: users }, { route: legacy } ] }
          public: { anonymous: true, include: [ { route: legacy, access: read } ] }
        """;

    public void Dispose() => _dir.Dispose();

    private (Config.GatehouseConfig Config, JsonObject Document) Build(string plan)
    {
        var config = ConfigText.Valid(Yaml);
        var source = OpenApiV31.Convert(UsersDocument, out var error);
        Assert.Null(error);
        var document = PlanOpenApi.Build(config, plan, PlanProjection.Of(plan, config), service => service == "users" ? source : null, "https://api.example.com/");
        return (config, document);
    }

    [Fact]
    public void ReadOnlyPlan_KeepsGetsAtPublicPaths_DropsWrites_KeepsDescriptionsAndReferencedSchemasOnly()
    {
        var (_, document) = Build("retail");

        Assert.Equal("3.1.1", (string)document["openapi"]!);
        Assert.Equal("https://api.example.com", (string)document["servers"]![0]!["url"]!);
        var paths = document["paths"]!.AsObject();
        Assert.Equal(["/api/users/{id}", "/profiles/{id}"], paths.Select(p => p.Key).Order());
        var item = paths["/api/users/{id}"]!.AsObject();
        Assert.Equal(["get"], item.Select(m => m.Key));
        Assert.Equal("getUser", (string)item["get"]!["operationId"]!);
        Assert.Equal("Reads a user <b>by id</b>.", (string)item["get"]!["description"]!);
        Assert.Contains(item["get"]!["parameters"]!.AsArray(), p => (string)p!["name"]! == "id");
        Assert.Equal("compositions.profile", (string)paths["/profiles/{id}"]!["get"]!["operationId"]!);

        // User and the Address it references; not UserUpdate (only the dropped PUT used it) nor Unused.
        var schemas = document["components"]!["schemas"]!.AsObject();
        Assert.Equal(["Address", "User"], schemas.Select(s => s.Key).Order());
        // 3.0's nullable is written the 3.1 way.
        Assert.Contains("null", schemas["User"]!["properties"]!["nick"]!["type"]!.ToJsonString(), StringComparison.Ordinal);

        Assert.Equal("X-Shop-Key", (string)document["components"]!["securitySchemes"]!["apiKey"]!["name"]!);
        Assert.NotNull(document["security"]![0]!["apiKey"]);
    }

    [Fact]
    public void ReadWritePlan_KeepsTheWriteAndItsSchema_AndRoutesWithoutOperation()
    {
        var (_, document) = Build("full");
        var paths = document["paths"]!.AsObject();
        Assert.Equal(["get", "put"], paths["/api/users/{id}"]!.AsObject().Select(m => m.Key).Order());
        Assert.Equal(["get", "post"], paths["/legacy/{rest}"]!.AsObject().Select(m => m.Key).Order());
        Assert.True(document["components"]!["schemas"]!.AsObject().ContainsKey("UserUpdate"));
        Assert.Contains("approval", (string)document["info"]!["description"]!, StringComparison.Ordinal);
    }

    [Fact]
    public void AnonymousPlan_HasNoSecurity_AndOnlyItsReadRoute()
    {
        var (_, document) = Build("public");
        Assert.Null(document["security"]);
        var paths = document["paths"]!.AsObject();
        Assert.Equal(["/legacy/{rest}"], paths.Select(p => p.Key));
        Assert.Equal(["get"], paths["/legacy/{rest}"]!.AsObject().Select(m => m.Key));
    }

    [Fact]
    [Trait("Issue", "23")]
    public void AnOperationRequiringScopes_TakesTheBearerSchemeWithThem_AlsoInAnAnonymousPlan()
    {
        var config = ConfigText.Valid($$"""
            version: 1
            gateway:
              jwt: { issuers: { login: { issuer: "https://login.example.test/", audiences: [api], jwksUrl: "https://login.example.test/jwks", algorithms: [RS256] } } }
            services:
              users:
                targets: [http://127.0.0.1:5001]
                operations:
                  users.get: { method: GET, path: "/users/{id}", requireScopes: ["users:read"] }
            routes:
              users-get: { operation: users.get }
              legacy: { methods: [GET], path: "/legacy", service: users, requireScopes: [legacy] }
            plans:
              public: { anonymous: true, include: [ { route: legacy }, { operation: users.get } ] }
            """);

        var document = PlanOpenApi.Build(config, "public", PlanProjection.Of("public", config), _ => null, "https://api.example.com/");

        Assert.Null(document["security"]);
        Assert.Equal("JWT", (string?)document["components"]!["securitySchemes"]!["bearer"]!["bearerFormat"]);
        Assert.Null(document["components"]!["securitySchemes"]!["apiKey"]);
        Assert.Equal("""[{"bearer":["legacy"]}]""", document["paths"]!["/legacy"]!["get"]!["security"]!.ToJsonString());
        Assert.Equal("""[{"bearer":["users:read"]}]""", document["paths"]!["/users/{id}"]!["get"]!["security"]!.ToJsonString());
        Assert.NotNull(OpenApiDocumentReader.Read(document.ToJsonString(), out var error));
        Assert.Null(error);
    }

    [Fact]
    public void TheDocument_ReadsBackAsOpenApi31_InJsonAndYaml()
    {
        var (_, document) = Build("full");
        Assert.NotNull(OpenApiDocumentReader.Read(document.ToJsonString(), out var jsonError));
        Assert.Null(jsonError);
        var imported = OpenApiDocumentReader.Read(YamlWriter.Write(document), out var yamlError);
        Assert.Null(yamlError);
        Assert.Equal("3.1", imported!.Version);
        Assert.Equal(5, imported.Operations.Count);
    }

    [Fact]
    public void ComponentNamesTakenByTwoServices_AreKeptApart()
    {
        var config = ConfigText.Valid(Yaml);
        var users = OpenApiV31.Convert(UsersDocument, out _)!;
        var other = (JsonObject)users.DeepClone();
        other["components"]!["schemas"]!["User"] = new JsonObject { ["type"] = "string" };
        var projection = PlanProjection.Of("retail", config);
        var twice = projection.Concat(projection.Where(o => o.Service == "users").Select(o => o with { Service = "orders", Path = "/orders-view/{id}" })).ToList();

        var document = PlanOpenApi.Build(config, "retail", twice, service => service == "users" ? users : other, "http://gw");
        var schemas = document["components"]!["schemas"]!.AsObject();
        Assert.Equal("object", (string)schemas["User"]!["type"]!);
        Assert.Equal("string", (string)schemas["orders_User"]!["type"]!);
        Assert.Equal("#/components/schemas/orders_User",
            (string)document["paths"]!["/orders-view/{id}"]!["get"]!["responses"]!["200"]!["content"]!["application/json"]!["schema"]!["$ref"]!);
    }
}
