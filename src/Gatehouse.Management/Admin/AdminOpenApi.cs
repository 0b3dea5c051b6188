using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;

namespace Gatehouse.Management.Admin;

/// <summary>
/// The OpenAPI 3.1 document of the admin API, written here from the same table of kinds the endpoints are mapped
/// from (Microsoft.AspNetCore.OpenApi would describe the request delegates as untyped; this says what they take).
/// </summary>
internal static class AdminOpenApi
{
    public static JsonObject Document()
    {
        var paths = new JsonObject();
        foreach (var (kind, section) in ResourceKinds.Named)
        {
            paths[$"/admin/{section}"] = new JsonObject
            {
                ["get"] = Operation($"List {section}", "limit", "after"),
            };
            paths[$"/admin/{section}/{{name}}"] = new JsonObject
            {
                ["parameters"] = Parameters("name"),
                ["get"] = Operation($"Get one {kind} (ETag header)"),
                ["put"] = Operation($"Create or replace a {kind}; If-Match optional", ConfigBodySchemas.For(section)),
                ["delete"] = Operation($"Delete a {kind}; If-Match optional"),
            };
        }

        paths["/admin/gateway"] = new JsonObject
        {
            ["get"] = Operation("Get the gateway section"),
            ["put"] = Operation("Replace the gateway section; If-Match optional", ConfigBodySchemas.For("gateway")),
        };
        paths["/admin/applications/{name}/keys"] = new JsonObject
        {
            ["parameters"] = Parameters("name"),
            ["post"] = Operation("Make an API key; the plaintext is returned once", body: true),
        };
        paths["/admin/applications/{name}/keys/{prefix}"] = new JsonObject
        {
            ["parameters"] = Parameters("name", "prefix"),
            ["delete"] = Operation("Revoke the key with this display prefix"),
        };
        paths["/admin/applications/{name}/keys/{prefix}/rotate"] = new JsonObject
        {
            ["parameters"] = Parameters("name", "prefix"),
            ["post"] = Operation("Make a new key (plaintext returned once) and let this one expire after 'grace' (default 1h; 0s revokes it now)", body: true),
        };
        paths["/admin/applications/{name}/approve"] = new JsonObject { ["parameters"] = Parameters("name"), ["post"] = Operation("Approve a pending application (state live)") };
        paths["/admin/applications/{name}/reject"] = new JsonObject { ["parameters"] = Parameters("name"), ["post"] = Operation("Reject a pending application (state suspended)") };
        paths["/admin/config"] = new JsonObject
        {
            ["get"] = Operation("The current revision's whole config document (ETag: the revision)"),
            ["post"] = Operation("Replace the whole config in one revision; answers the diff; If-Match optional; ?dryRun=true commits nothing", ConfigBodySchemas.For(null)),
        };
        paths["/admin/cache/purge"] = new JsonObject
        {
            ["post"] = Operation("Drop this node's cached responses of a route ({route}), or of one request path of it ({route, path})", body: true),
        };
        paths["/admin/revisions"] = new JsonObject { ["get"] = Operation("List revisions, newest first", "limit", "before") };
        paths["/admin/revisions/{n}"] = new JsonObject { ["parameters"] = Parameters("n"), ["get"] = Operation("The whole config at revision n") };
        paths["/admin/revisions/{a}/diff/{b}"] = new JsonObject { ["parameters"] = Parameters("a", "b"), ["get"] = Operation("What changed from a to b") };
        paths["/admin/revisions/{n}/rollback"] = new JsonObject { ["parameters"] = Parameters("n"), ["post"] = Operation("Commit a revision equal to n") };
        paths["/admin/nodes"] = new JsonObject { ["get"] = Operation("Gateway nodes: the revision each serves, when it was last seen, whether it is stale") };
        paths["/admin/nodes/{id}"] = new JsonObject { ["parameters"] = Parameters("id"), ["delete"] = Operation("Forget a stale node (409 while it still reports)") };
        paths["/admin/services/{name}/registrations"] = new JsonObject
        {
            ["parameters"] = Parameters("name"),
            ["get"] = Operation("Live self-registered targets of the service"),
            ["put"] = Registration(Operation("Register or renew (heartbeat) a target: {url, ttl}; admin token or the service's registration token", body: true)),
            ["delete"] = Registration(Operation("Deregister a target; admin token or the service's registration token", "url")),
        };
        paths["/admin/registrations"] = new JsonObject { ["get"] = Operation("Live self-registered targets of every service") };
        paths["/admin/audit"] = new JsonObject { ["get"] = Operation("Audit entries, newest first", "limit", "before") };
        paths["/admin/openapi.json"] = new JsonObject { ["get"] = Operation("This document") };
        paths["/admin/schema.json"] = new JsonObject { ["get"] = Operation("The JSON Schema (2020-12) of config documents, as `gatehouse schema` prints it") };

        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject { ["title"] = "Gatehouse admin API", ["version"] = "1" },
            ["security"] = new JsonArray(new JsonObject { ["adminToken"] = new JsonArray() }),
            ["components"] = new JsonObject
            {
                ["schemas"] = ConfigBodySchemas.Components(),
                ["securitySchemes"] = new JsonObject
                {
                    ["adminToken"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer" },
                    ["registrationToken"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["description"] = "A token whose SHA-256 is in services.NAME.registration.tokenSha256" },
                },
            },
            ["paths"] = paths,
        };
    }

    private static JsonObject Operation(string summary, params string[] query)
    {
        var operation = new JsonObject
        {
            ["summary"] = summary,
            ["responses"] = new JsonObject
            {
                ["200"] = new JsonObject { ["description"] = "OK" },
                ["default"] = new JsonObject
                {
                    ["description"] = "A problem (application/problem+json)",
                    ["content"] = new JsonObject { ["application/problem+json"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } } },
                },
            },
        };
        if (query.Length > 0)
        {
            operation["parameters"] = new JsonArray(query.Select(q => (JsonNode?)new JsonObject
            {
                ["name"] = q,
                ["in"] = "query",
                ["required"] = false,
                ["schema"] = new JsonObject { ["type"] = q is "after" or "url" ? "string" : "integer" },
            }).ToArray());
        }

        return operation;
    }

    private static JsonObject Operation(string summary, bool body) =>
        Operation(summary, body ? new JsonObject { ["type"] = "object" } : null);

    private static JsonObject Operation(string summary, JsonObject? bodySchema)
    {
        var operation = Operation(summary);
        if (bodySchema is not null)
        {
            operation["requestBody"] = new JsonObject
            {
                ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = bodySchema } },
            };
        }

        return operation;
    }

    // Registration writes take either token.
    private static JsonObject Registration(JsonObject operation)
    {
        operation["security"] = new JsonArray(new JsonObject { ["adminToken"] = new JsonArray() }, new JsonObject { ["registrationToken"] = new JsonArray() });
        return operation;
    }

    private static JsonArray Parameters(params string[] names) =>
        new(names.Select(n => (JsonNode?)new JsonObject
        {
            ["name"] = n,
            ["in"] = "path",
            ["required"] = true,
            ["schema"] = new JsonObject { ["type"] = n is "a" or "b" or "n" ? "integer" : "string" },
        }).ToArray());
}
