using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;

namespace Gatehouse.Management.Admin;

/// <summary>
/// The OpenAPI 3.1 document of the admin API, written here from the same table of kinds the endpoints are mapped
/// from (Microsoft.AspNetCore.OpenApi would describe the request delegates as untyped; this says what they take and
/// answer). Every operation has an <c>operationId</c>, the statuses it really answers and the schemas of its bodies;
/// it passes <c>redocly lint</c> with the recommended rules (AdminOpenApiLintTests). The bodies of config resources come
/// from <see cref="ConfigBodySchemas"/>, the one seam for them.
/// </summary>
internal static partial class AdminOpenApi
{
    /// <param name="serverUrl">Where this admin API is reached (the request's scheme and host), for <c>servers</c>.</param>
    public static JsonObject Document(string serverUrl)
    {
        var paths = new JsonObject();
        foreach (var (kind, section) in ResourceKinds.Named)
        {
            var plural = Pascal(section);
            var single = Pascal(kind);
            paths[$"/admin/{section}"] = new JsonObject
            {
                ["get"] = Op($"list{plural}", $"List {section}", "Config resources", $"The {section} of the current revision, by name, a page at a time.",
                    Responses(("200", Json("ResourceList", $"A page of {section}")), Ref("BadParameter"))),
                ["parameters"] = new JsonArray(Query("limit", "integer", "How many per page: 1 to 1000 (default 100)."), Query("after", "string", "The 'next' of the previous page: names after this one.")),
            };
            paths[$"/admin/{section}/{{name}}"] = new JsonObject
            {
                ["parameters"] = new JsonArray(PathParameter("name", $"The {kind}'s name (its key under '{section}' in a config file).")),
                ["get"] = Op($"get{single}", $"Get one {kind}", "Config resources", $"The {kind} as stored; the ETag header names this version of it (for If-Match).",
                    Responses(("200", Json(ConfigBodySchemas.For(section), $"The {kind}", etag: true)), Ref("NotFound"))),
                ["put"] = Op($"put{single}", $"Create or replace a {kind}", "Config resources", $"Validated like a config file, committed as a new revision and served at once. If-Match is optional.",
                    Responses(("200", Json("ChangeResult", $"The {kind} was replaced (or was already equal)")), ("201", Json("ChangeResult", $"The {kind} was created")),
                        Ref("BadRequest"), Ref("PreconditionFailed"), Ref("TooLarge"), Ref("InvalidConfig"), Ref("Conflict")),
                    body: Body(ConfigBodySchemas.For(section), $"The {kind}, as it would be written under '{section}.NAME' in a config file"), ifMatch: true),
                ["delete"] = Op($"delete{single}", $"Delete a {kind}", "Config resources", "Committed as a new revision unless something else still refers to it (then 422). If-Match is optional.",
                    Responses(("200", Json("ChangeResult", $"The {kind} was deleted")), Ref("NotFound"), Ref("PreconditionFailed"), Ref("InvalidConfig"), Ref("Conflict")), ifMatch: true),
            };
        }

        paths["/admin/gateway"] = new JsonObject
        {
            ["get"] = Op("getGateway", "Get the gateway section", "Config resources", "The 'gateway' section of the current revision.",
                Responses(("200", Json(ConfigBodySchemas.For("gateway"), "The gateway section", etag: true)), Ref("NotFound"))),
            ["put"] = Op("putGateway", "Replace the gateway section", "Config resources", "Validated, committed as a new revision and served at once (listeners need a restart). If-Match is optional.",
                Responses(("200", Json("ChangeResult", "Replaced")), ("201", Json("ChangeResult", "Created")), Ref("BadRequest"), Ref("PreconditionFailed"), Ref("TooLarge"), Ref("InvalidConfig"), Ref("Conflict")),
                body: Body(ConfigBodySchemas.For("gateway"), "The gateway section, as in a config file"), ifMatch: true),
        };
        AddKeyPaths(paths);
        AddRevisionPaths(paths);
        AddNodeAndRegistrationPaths(paths);
        AddAnalyticsPaths(paths);
        AddPortalPaths(paths);
        paths["/admin/openapi.json"] = new JsonObject
        {
            ["get"] = Op("getOpenApi", "This document", "Meta", "The OpenAPI 3.1 description of the admin API.",
                Responses(("200", new JsonObject
                {
                    ["description"] = "The document",
                    ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } } },
                }))),
        };
        paths["/admin/schema.json"] = new JsonObject
        {
            ["get"] = Op("getConfigSchema", "The config's JSON Schema", "Meta", "The JSON Schema (2020-12) of config documents, as `gatehouse schema` prints it.",
                Responses(("200", new JsonObject
                {
                    ["description"] = "The schema",
                    ["content"] = new JsonObject { ["application/schema+json"] = new JsonObject { ["schema"] = new JsonObject { ["type"] = "object" } } },
                }))),
        };

        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject
            {
                ["title"] = "Gatehouse admin API",
                ["version"] = "1",
                ["description"] = "Changes the configuration store of a Gatehouse node: every change is validated like a config file, committed as a numbered revision and served at once. Errors are RFC 9457 problems (application/problem+json) with a stable 'type'. See docs/admin-api.md.",
                ["license"] = new JsonObject { ["name"] = "MIT", ["identifier"] = "MIT" },
            },
            ["servers"] = new JsonArray(new JsonObject { ["url"] = serverUrl, ["description"] = "This admin API" }),
            ["security"] = new JsonArray(new JsonObject { ["adminToken"] = new JsonArray() }),
            ["tags"] = new JsonArray(
                Tag("Config resources", "Services, routes, plans, accounts, applications, compositions and the gateway section, one resource at a time"),
                Tag("Keys", "API keys of applications: made, listed, revoked and rotated"),
                Tag("Applications", "Approving or rejecting pending applications"),
                Tag("Configuration", "The whole configuration as one document"),
                Tag("Revisions", "The numbered history of the configuration, diffs and rollback"),
                Tag("Audit", "Who changed what"),
                Tag("Nodes", "Gateway nodes that report to the store"),
                Tag("Admin tokens", "Named admin tokens with a scope and an expiry, beside the admin token"),
                Tag("Registrations", "Targets that register themselves with a service"),
                Tag("Analytics", "Usage analytics, consumers' usage reports and Prometheus metrics"),
                Tag("Cache", "The response cache of routes with a cache policy"),
                Tag("Portal", "Accounts and applications of the developer portal, their decisions and audit log, the portal's settings, and the console's users"),
                Tag("Meta", "About the API itself")),
            ["paths"] = paths,
            ["components"] = Components(),
        };
    }

    private static void AddKeyPaths(JsonObject paths)
    {
        var app = PathParameter("name", "The application's name.");
        var handle = PathParameter("handle", "The key's handle: its prefix, or the first 16 hex digits of its SHA-256 for a key written without one (GET …/keys lists them).");
        paths["/admin/applications/{name}/keys"] = new JsonObject
        {
            ["parameters"] = new JsonArray(app),
            ["get"] = Op("listApplicationKeys", "List an application's keys", "Keys", "Each key's handle, prefix, SHA-256 and expiry; never the key itself.",
                Responses(("200", Json("KeyList", "The keys")), Ref("NotFound"))),
            ["post"] = Op("createApplicationKey", "Make an API key", "Keys", "The plaintext key is in this answer only (Cache-Control: no-store); the application keeps its hash.",
                Responses(("201", Json("NewKey", "The new key")), Ref("BadRequest"), Ref("NotFound"), Ref("InvalidKey"), Ref("Conflict")),
                body: Body("NewKeyRequest", "Optional: when the key expires", required: false)),
        };
        paths["/admin/applications/{name}/keys/{handle}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(app.DeepClone(), handle),
            ["delete"] = Op("revokeApplicationKey", "Revoke a key", "Keys", "Removes the key in a new revision; it stops working at once.",
                Responses(("200", Json("ChangeResult", "Revoked")), Ref("NotFound"), Ref("Conflict"))),
        };
        paths["/admin/applications/{name}/keys/{handle}/rotate"] = new JsonObject
        {
            ["parameters"] = new JsonArray(app.DeepClone(), handle.DeepClone()),
            ["post"] = Op("rotateApplicationKey", "Rotate a key", "Keys", "Makes a new key (plaintext in this answer only) and lets the old one work until 'grace' has passed (default 1h; 0s revokes it now), in one revision.",
                Responses(("201", Json("RotatedKey", "The new key, and what became of the old one")), Ref("BadRequest"), Ref("NotFound"), Ref("InvalidConfig"), Ref("Conflict")),
                body: Body("RotateRequest", "Optional: how long the old key keeps working", required: false)),
        };
        foreach (var (verb, state, summary) in new[] { ("approve", "live", "Approve a pending application"), ("reject", "suspended", "Reject a pending application") })
        {
            paths[$"/admin/applications/{{name}}/{verb}"] = new JsonObject
            {
                ["parameters"] = new JsonArray(app.DeepClone()),
                ["post"] = Op($"{verb}Application", summary, "Applications", $"Only a pending application; it becomes '{state}' in a new revision.",
                    Responses(("200", Json("ApprovalResult", $"The application is {state}")), Ref("NotFound"), Ref("NotPending"))),
            };
        }
    }

    private static void AddRevisionPaths(JsonObject paths)
    {
        var revision = (string name, string what) => PathParameter(name, what, "integer");
        paths["/admin/config"] = new JsonObject
        {
            ["get"] = Op("getConfig", "Get the whole configuration", "Configuration", "The current revision as one config document; ETag and Gatehouse-Revision name the revision.",
                Responses(("200", Json(ConfigBodySchemas.For(null), "The configuration", etag: true)))),
            ["post"] = Op("replaceConfig", "Replace the whole configuration", "Configuration", "Makes the store equal to the document in one revision (creates, updates, deletes) and answers what changed; ?dryRun=true commits nothing. If-Match (the ETag of GET) is optional.",
                Responses(("200", Json("ConfigReplaceResult", "What changed (or would, with dryRun)")), Ref("BadRequest"), Ref("PreconditionFailed"), Ref("TooLarge"), Ref("InvalidConfig"), Ref("Conflict")),
                body: Body(ConfigBodySchemas.For(null), "A whole config document as JSON"), ifMatch: true),
            ["parameters"] = new JsonArray(Query("dryRun", "boolean", "With true, validate and answer the diff without committing (POST only).")),
        };
        paths["/admin/revisions"] = new JsonObject
        {
            ["get"] = Op("listRevisions", "List revisions", "Revisions", "Newest first, a page at a time.",
                Responses(("200", Json("RevisionList", "A page of revisions")), Ref("BadParameter"))),
            ["parameters"] = new JsonArray(Query("limit", "integer", "How many per page: 1 to 1000 (default 100)."), Query("before", "integer", "The 'next' of the previous page.")),
        };
        paths["/admin/revisions/{n}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(revision("n", "A revision number.")),
            ["get"] = Op("getRevision", "Get the configuration at a revision", "Revisions", "The whole config document as it was at revision n.",
                Responses(("200", Json(ConfigBodySchemas.For(null), "The configuration at n")), Ref("NotFound"))),
        };
        paths["/admin/revisions/{a}/diff/{b}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(revision("a", "From this revision (0: empty)."), revision("b", "To this revision.")),
            ["get"] = Op("diffRevisions", "What changed between two revisions", "Revisions", "Every resource created, updated or deleted from a to b, with its body before and after.",
                Responses(("200", Json("RevisionDiff", "The changes")), Ref("NotFound"))),
        };
        paths["/admin/revisions/{n}/rollback"] = new JsonObject
        {
            ["parameters"] = new JsonArray(revision("n", "The revision to go back to.")),
            ["post"] = Op("rollbackToRevision", "Roll back to a revision", "Revisions", "Commits a new revision equal to n (history is never rewritten), after checking it still loads.",
                Responses(("200", Json("RollbackResult", "The new revision")), Ref("NotFound"), Ref("InvalidConfig"), Ref("Conflict"))),
        };
        paths["/admin/audit"] = new JsonObject
        {
            ["get"] = Op("listAudit", "List audit entries", "Audit", "Newest first: one entry per changed resource per revision, with the body before and after.",
                Responses(("200", Json("AuditList", "A page of audit entries")), Ref("BadParameter"))),
            ["parameters"] = new JsonArray(Query("limit", "integer", "How many per page: 1 to 1000 (default 100)."), Query("before", "integer", "The 'next' of the previous page.")),
        };
    }

    private static void AddNodeAndRegistrationPaths(JsonObject paths)
    {
        paths["/admin/nodes"] = new JsonObject
        {
            ["get"] = Op("listNodes", "List gateway nodes", "Nodes", "Every node that reported to the store: the revision it serves, when it was last seen, whether it is stale.",
                Responses(("200", Json("NodeList", "The nodes")))),
        };
        paths["/admin/drain"] = new JsonObject
        {
            ["post"] = Op("drainNode", "Drain this node", "Nodes", "Graceful stop of the node that serves this admin API: GET /ready answers 503 at once; after gateway.drainDelay the listeners close, requests in flight get up to gateway.drainTimeout to finish, then the process exits 0.",
                Responses(("202", new JsonObject { ["description"] = "Draining" }))),
        };
        paths["/admin/nodes/{id}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("id", "The node's id.")),
            ["delete"] = Op("deleteNode", "Forget a stale node", "Nodes", "A node that still reports is refused (409): stop it first.",
                Responses(("200", Json("NodeRemoved", "Forgotten")), Ref("NotFound"), Ref("NodeLive"))),
        };
        paths["/admin/node-tokens"] = new JsonObject
        {
            ["get"] = Op("listNodeTokens", "List node tokens", "Nodes", "The names of the tokens hybrid data nodes authenticate to the node API with, and when each was issued.",
                Responses(("200", Json("NodeTokenList", "The node tokens")))),
            ["post"] = Op("issueNodeToken", "Issue a node token", "Nodes", "A new token for hybrid data nodes (docs/nodes.md), shown once in the answer. Issuing an existing name replaces its token.",
                Responses(("201", Json("NodeTokenIssued", "Issued")), Ref("BadRequest")),
                body: Body("NodeTokenRequest", "The token's name")),
        };
        paths["/admin/node-tokens/{name}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("name", "The node token's name.")),
            ["delete"] = Op("revokeNodeToken", "Revoke a node token", "Nodes", "Nodes using it are refused (401) from their next request on.",
                Responses(("204", new JsonObject { ["description"] = "Revoked" }), Ref("NotFound"))),
        };
        paths["/admin/tokens"] = new JsonObject
        {
            ["get"] = Op("listAdminTokens", "List named admin tokens", "Admin tokens", "Every named admin token with its scope and expiry (never a token). The admin token only.",
                Responses(("200", Json("AdminTokenList", "The named admin tokens")), Ref("Forbidden"))),
            ["post"] = Op("issueAdminToken", "Issue a named admin token", "Admin tokens",
                "A token for one pipeline, person or dashboard, shown once in the answer: scope read may GET and HEAD, scope write may do everything but manage admin tokens; it may expire. The audit log names its changes admin-api:NAME. Issuing an existing name replaces its token. The admin token only.",
                Responses(("201", Json("AdminTokenIssued", "Issued")), Ref("BadRequest"), Ref("Forbidden")),
                body: Body("AdminTokenRequest", "The token's name, scope and expiry")),
        };
        paths["/admin/tokens/{name}"] = new JsonObject
        {
            ["parameters"] = new JsonArray(PathParameter("name", "The admin token's name.")),
            ["delete"] = Op("revokeAdminToken", "Revoke a named admin token", "Admin tokens", "Refused (401) from the next request on, on every node of the store. The admin token only.",
                Responses(("204", new JsonObject { ["description"] = "Revoked" }), Ref("NotFound"), Ref("Forbidden"))),
        };
        var service = PathParameter("name", "The service's name.");
        paths["/admin/services/{name}/registrations"] = new JsonObject
        {
            ["parameters"] = new JsonArray(service),
            ["get"] = Op("listServiceRegistrations", "List a service's registered targets", "Registrations", "The live self-registered targets of the service.",
                Responses(("200", Json("RegistrationList", "The live registrations")))),
            ["put"] = Registration(Op("registerTarget", "Register or renew a target", "Registrations", "A heartbeat: registers the URL for 'ttl', or renews it. The admin token or one of the service's registration tokens.",
                Responses(("200", Json("Registration", "Registered until expiresAt")), Ref("BadRequest"), Ref("Forbidden"), Ref("NotFound"), Ref("InvalidRegistration")),
                body: Body("RegistrationRequest", "The target's address and how long it stays without a heartbeat"))),
            ["delete"] = Registration(Op("deregisterTarget", "Deregister a target", "Registrations", "The admin token or one of the service's registration tokens.",
                Responses(("204", new JsonObject { ["description"] = "Deregistered" }), Ref("Forbidden"), Ref("NotFound"), Ref("InvalidRegistration")),
                parameters: new JsonArray(Query("url", "string", "The registered address, e.g. http://10.1.2.3:8080.", required: true)))),
        };
        paths["/admin/registrations"] = new JsonObject
        {
            ["get"] = Op("listRegistrations", "List every registered target", "Registrations", "The live self-registered targets of every service.",
                Responses(("200", Json("RegistrationList", "The live registrations")))),
        };
    }

    // Registration writes take either token.
    private static JsonObject Registration(JsonObject operation)
    {
        operation["security"] = new JsonArray(new JsonObject { ["adminToken"] = new JsonArray() }, new JsonObject { ["registrationToken"] = new JsonArray() });
        return operation;
    }

    /// <summary>An operation: every one also answers 401 (no or a wrong token) and 503 (the store did not answer).</summary>
    private static JsonObject Op(string id, string summary, string tag, string description, JsonObject responses, JsonObject? body = null, bool ifMatch = false, JsonArray? parameters = null)
    {
        responses["401"] = RefNode("Unauthorized");
        responses["503"] = RefNode("StoreUnavailable");
        var operation = new JsonObject
        {
            ["operationId"] = id,
            ["summary"] = summary,
            ["description"] = description,
            ["tags"] = new JsonArray(tag),
        };
        parameters ??= [];
        if (ifMatch)
        {
            parameters.Add(new JsonObject
            {
                ["name"] = "If-Match",
                ["in"] = "header",
                ["required"] = false,
                ["description"] = "Only if the resource is still this version (its ETag); '*' for any existing one. 412 otherwise.",
                ["schema"] = new JsonObject { ["type"] = "string" },
            });
        }

        if (parameters.Count > 0)
        {
            operation["parameters"] = parameters;
        }

        if (body is not null)
        {
            operation["requestBody"] = body;
        }

        operation["responses"] = responses;
        return operation;
    }

    internal static JsonObject Responses(params (string Status, JsonNode Response)[] responses)
    {
        var result = new JsonObject();
        foreach (var (status, response) in responses)
        {
            result[status] = response;
        }

        return result;
    }

    private static (string, JsonNode) Ref(string response) => (ResponseStatus[response], RefNode(response));

    private static JsonObject RefNode(string response) => new() { ["$ref"] = "#/components/responses/" + response };

    internal static JsonObject Json(string schema, string description, bool etag = false) => Json(SchemaRef(schema), description, etag);

    internal static JsonObject Json(JsonObject schema, string description, bool etag = false)
    {
        var response = new JsonObject
        {
            ["description"] = description,
            ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = schema } },
        };
        if (etag)
        {
            response["headers"] = new JsonObject
            {
                ["ETag"] = new JsonObject { ["description"] = "This version, for If-Match", ["schema"] = new JsonObject { ["type"] = "string" } },
            };
        }

        return response;
    }

    internal static JsonObject Body(string schema, string description, bool required = true) => Body(SchemaRef(schema), description, required);

    internal static JsonObject Body(JsonObject schema, string description, bool required = true) => new()
    {
        ["description"] = description,
        ["required"] = required,
        ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = schema } },
    };

    internal static JsonObject SchemaRef(string schema) => new() { ["$ref"] = "#/components/schemas/" + schema };

    internal static JsonObject PathParameter(string name, string description, string type = "string") => new()
    {
        ["name"] = name,
        ["in"] = "path",
        ["required"] = true,
        ["description"] = description,
        ["schema"] = new JsonObject { ["type"] = type },
    };

    internal static JsonObject Query(string name, string type, string description, bool required = false) => new()
    {
        ["name"] = name,
        ["in"] = "query",
        ["required"] = required,
        ["description"] = description,
        ["schema"] = new JsonObject { ["type"] = type },
    };

    internal static JsonObject Tag(string name, string description) => new() { ["name"] = name, ["description"] = description };

    private static string Pascal(string word) => char.ToUpperInvariant(word[0]) + word[1..];
}
