namespace Gatehouse.Model.Tests.Operations;

/// <summary>Small OpenAPI documents written the ways services write them.</summary>
internal static class Specs
{
    /// <summary>
    /// The users API in OpenAPI 3.0 JSON: an operationId'd GET with a tag, a DELETE without operationId,
    /// and a path-level parameter, a $ref and a server URL (none of which the import needs).
    /// </summary>
    public const string Users30Json = """
        {
          "openapi": "3.0.3",
          "info": { "title": "Users", "version": "1.0" },
          "servers": [{ "url": "https://users.example.com/v1" }],
          "paths": {
            "/users/{id}": {
              "parameters": [{ "$ref": "#/components/parameters/Id" }],
              "get": { "operationId": "users.getUser", "tags": ["users", "public"], "responses": { "200": { "description": "ok" } } },
              "delete": { "responses": { "204": { "description": "gone" } } }
            },
            "/users": {
              "get": { "operationId": "users.listUsers", "tags": ["users"], "responses": { "200": { "description": "ok" } } },
              "post": { "operationId": "users.createUser", "responses": { "201": { "description": "created" } } }
            }
          },
          "components": {
            "parameters": { "Id": { "name": "id", "in": "path", "required": true, "schema": { "type": "integer" } } }
          }
        }
        """;

    /// <summary>The same operations in OpenAPI 3.1 YAML.</summary>
    public const string Users31Yaml = """
        openapi: 3.1.0
        info:
          title: Users
          version: "1.0"
        servers:
          - url: https://users.example.com/v1
        paths:
          /users/{id}:
            parameters:
              - $ref: '#/components/parameters/Id'
            get:
              operationId: users.getUser
              tags: [users, public]
              responses:
                '200': { description: ok }
            delete:
              responses:
                '204': { description: gone }
          /users:
            get:
              operationId: users.listUsers
              tags: [users]
            post:
              operationId: users.createUser
        components:
          parameters:
            Id: { name: id, in: path, required: true, schema: { type: integer } }
        """;

    /// <summary>A 3.1 JSON document with one operation.</summary>
    public static string Json31(string path, string method, string? operationId = null, string tags = "[]") => $$"""
        {
          "openapi": "3.1.0",
          "info": { "title": "t", "version": "1" },
          "paths": { "{{path}}": { "{{method}}": { {{(operationId is null ? "" : $"\"operationId\": \"{operationId}\", ")}}"tags": {{tags}} } } }
        }
        """;

    /// <summary>A 3.0 YAML document with one operation.</summary>
    public static string Yaml30(string path, string method, string? operationId = null) => $"""
        openapi: "3.0.0"
        info: {"{"} title: t, version: "1" {"}"}
        paths:
          "{path}":
            {method}:
              {(operationId is null ? "summary: none" : $"operationId: {operationId}")}
        """;
}
