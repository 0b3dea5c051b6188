using System.Text.Json.Nodes;

namespace Gatehouse.Management.Portal;

/// <summary>The OpenAPI 3.1 document of the portal's JSON API (<c>GET /api/v1/openapi.json</c>), written out by hand like the admin API's.</summary>
internal static class PortalApiDocument
{
    public static JsonObject Build()
    {
        var id = Path("id", "The application's id (app-…).");
        var prefix = Path("prefix", "The key's prefix, as listed (ghk_ and four more characters).");
        var application = Json("Application", "The application");
        return new JsonObject
        {
            ["openapi"] = "3.1.0",
            ["info"] = new JsonObject
            {
                ["title"] = "Gatehouse developer portal API",
                ["version"] = "1",
                ["description"] = "What the portal's applications pages do, for scripts and pipelines. Authenticate with an API token made on the portal's API tokens page (/tokens): Authorization: Bearer ghc_…. A read token may call GET only. Refusals are RFC 9457 problem+json.",
                ["license"] = new JsonObject { ["name"] = "MIT", ["identifier"] = "MIT" },
            },
            ["servers"] = new JsonArray(new JsonObject { ["url"] = PortalApiEndpoints.Base, ["description"] = "This portal's API" }),
            ["tags"] = new JsonArray(
                new JsonObject { ["name"] = "Plans", ["description"] = "The plans an application may be put on" },
                new JsonObject { ["name"] = "Account", ["description"] = "The token's own account" },
                new JsonObject { ["name"] = "Applications", ["description"] = "The account's applications, their keys and their usage" }),
            ["security"] = new JsonArray(new JsonObject { ["token"] = new JsonArray() }),
            ["paths"] = new JsonObject
            {
                ["/plans"] = new JsonObject
                {
                    ["get"] = Op("listPlans", "Plans", "The plans an application may be put on (the catalogue's)", Responses(("200", Json("PlanList", "The plans")))),
                },
                ["/me"] = new JsonObject
                {
                    ["get"] = Op("getMe", "Account", "The token's account, and the token", Responses(("200", Json("Me", "The account")))),
                },
                ["/applications"] = new JsonObject
                {
                    ["get"] = Op("listApplications", "Applications", "The account's applications", Responses(("200", Json("ApplicationList", "The applications")))),
                    ["post"] = Op("createApplication", "Applications", "Create an application on a plan, with its first key (shown only in this answer)",
                        Responses(("201", Json("NewKey", "Created: live, or pending when the plan needs approval")), ("403", Problem("The account waits for approval (account-not-active), or the token is read-only")),
                            ("422", Problem("A title, description, plan or keyExpiresIn that is not allowed (invalid-input)"))),
                        Body("NewApplication")),
                },
                ["/applications/{id}"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone()),
                    ["get"] = Op("getApplication", "Applications", "One application", Responses(("200", application), ("404", Problem("No application of this account has this id")))),
                    ["patch"] = Op("changeApplication", "Applications", "Rename the application, or move it to another plan (onto a plan that needs approval it goes pending)",
                        Responses(("200", Json("Application", "Changed")), ("404", Problem("No application of this account has this id")),
                            ("422", Problem("A title or description that is not allowed, or not a plan the account may choose (invalid-input)"))),
                        Body("ApplicationChange")),
                    ["delete"] = Op("deleteApplication", "Applications", "Delete the application: its keys stop working at once",
                        Responses(("204", new JsonObject { ["description"] = "Deleted" }), ("404", Problem("No application of this account has this id")))),
                },
                ["/applications/{id}/keys/{prefix}/rotate"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone(), prefix.DeepClone()),
                    ["post"] = Op("rotateKey", "Applications", "A new key (shown only in this answer); the old one keeps working for the grace period",
                        Responses(("201", Json("NewKey", "The new key")), ("404", Problem("No such application or key")), ("422", Problem("A grace period that is not 0s to 30d (invalid-input)"))),
                        Body("Rotation")),
                },
                ["/applications/{id}/keys/{prefix}"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone(), prefix.DeepClone()),
                    ["delete"] = Op("revokeKey", "Applications", "Revoke a key: it stops working at once",
                        Responses(("204", new JsonObject { ["description"] = "Revoked" }), ("404", Problem("No such application or key")))),
                },
                ["/applications/{id}/activity"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone()),
                    ["get"] = Op("getActivity", "Applications", "The application's latest 100 changes, newest first: when, by whom (you, you with a token, the portal or an administrator) and what",
                        Responses(("200", Json("Activity", "The changes")), ("404", Problem("No application of this account has this id")))),
                },
                ["/applications/{id}/usage"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(
                        id.DeepClone(),
                        Query("from", "The first day, 2026-01-31 (default: 29 days before 'to')."),
                        Query("to", "The last day (default: today, UTC); at most 400 days after 'from'.")),
                    ["get"] = Op("getUsage", "Applications", "Calls per day by status class, model tokens, and what is left of each of the plan's limits",
                        Responses(("200", Json("Usage", "The report")), ("400", Problem("'from' or 'to' is not a day, or not a range of at most 400 days (admin-bad-parameter)")),
                            ("404", Problem("No such application, or this node records no usage (usage-off)")))),
                },
                ["/applications/{id}/usage.csv"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(
                        id.DeepClone(),
                        Query("from", "The first day, 2026-01-31 (default: 29 days before 'to')."),
                        Query("to", "The last day (default: today, UTC); at most 400 days after 'from'.")),
                    ["get"] = Op("getUsageCsv", "Applications", "The same calls per day as CSV, one row a day (a download for a sheet)",
                        Responses(
                            ("200", new JsonObject
                            {
                                ["description"] = "day,calls,client_errors,server_errors,p95_ms,model_calls,prompt_tokens,completion_tokens",
                                ["content"] = new JsonObject { ["text/csv"] = new JsonObject { ["schema"] = Str() } },
                            }),
                            ("400", Problem("'from' or 'to' is not a day, or not a range of at most 400 days (admin-bad-parameter)")),
                            ("404", Problem("No such application, or this node records no usage (usage-off)")))),
                },
            },
            ["components"] = new JsonObject
            {
                ["securitySchemes"] = new JsonObject
                {
                    ["token"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["description"] = "A portal API token (ghc_…), made on the portal's /tokens page." },
                },
                ["schemas"] = Schemas(),
            },
        };
    }

    private static JsonObject Schemas() => new()
    {
        ["Problem"] = Object(("type", Str()), ("title", Str()), ("status", Int()), ("detail", Str()), ("instance", Str())),
        ["Token"] = Object(("name", Str()), ("prefix", Str()), ("scope", Enum("read", "write")), ("createdAt", Time()), ("expiresAt", Nullable(Time())), ("lastUsedAt", Nullable(Time()))),
        ["Me"] = Object(("id", Str()), ("email", Str()), ("title", Str()), ("state", Enum("active", "pending")), ("createdAt", Time()), ("token", Ref("Token"))),
        ["Key"] = Object(("prefix", Str()), ("createdAt", Time()), ("expiresAt", Nullable(Time()))),
        ["Application"] = Object(("id", Str()), ("title", Str()), ("description", Str()), ("plan", Str()), ("state", Enum("live", "pending", "suspended")),
            ("createdAt", Time()), ("keys", Array(Ref("Key")))),
        ["ApplicationList"] = Object(("items", Array(Ref("Application")))),
        ["NewKey"] = Object(("application", Ref("Application")), ("key", Str("The key itself: shown only here, the portal keeps only its hash"))),
        ["NewApplication"] = Input(["title", "plan"], ("title", Str("1 to 100 characters")), ("description", Str("At most 1,000 characters")), ("plan", Str("One of GET /plans")),
            ("keyExpiresIn", Enum("30d", "90d", "365d"))),
        ["ApplicationChange"] = Input([], ("title", Str("1 to 100 characters")), ("description", Str("At most 1,000 characters")), ("plan", Str("One of GET /plans"))),
        ["Rotation"] = Input(["grace"], ("grace", Str("How long the old key keeps working: 0s (ends it now) to 30d, for example 1h or 7d"))),
        ["Plan"] = Object(("name", Str()), ("title", Str()), ("approvalRequired", new JsonObject { ["type"] = "boolean" }),
            ("limits", Array(Object(("requests", Int()), ("per", Str())))), ("operations", Array(Object(("id", Str()), ("access", Enum("read", "write"))))),
            ("openapi", Str("The plan's own API document on the portal"))),
        ["PlanList"] = Object(("items", Array(Ref("Plan")))),
        ["Activity"] = Object(("items", Array(Object(("at", Time()), ("who", Str()), ("what", Str()))))),
        ["Usage"] = Object(("application", Str()),
            ("days", Array(Object(("day", Str()), ("calls", Int()), ("clientErrors", Int()), ("errors", Int()), ("p95Ms", new JsonObject { ["type"] = "number" }),
                ("modelCalls", Int()), ("promptTokens", Int()), ("completionTokens", Int()), ("totalTokens", Int())))),
            ("limits", Array(Object(("name", Str()), ("period", Str()), ("quota", new JsonObject { ["type"] = "boolean" }), ("shadow", new JsonObject { ["type"] = "boolean" }),
                ("limit", Int()), ("used", Int()), ("remaining", Int()), ("resetsAt", Time()))))),
    };

    private static JsonObject Op(string operationId, string tag, string summary, JsonObject responses, JsonObject? body = null)
    {
        responses["401"] = Problem("No token, or one that is unknown, revoked or expired (token-missing, token-invalid, token-expired)");
        responses["429"] = Problem("This address sent too many unknown tokens in a minute (too-many-attempts)");
        if (body is not null)
        {
            responses["400"] = Problem("Not a JSON object of the call's string fields (malformed-json, admin-bad-parameter)");
            responses["413"] = Problem("A body over 16 KiB (body-too-large)");
        }

        var op = new JsonObject { ["operationId"] = operationId, ["tags"] = new JsonArray(tag), ["summary"] = summary, ["responses"] = responses };
        if (body is not null)
        {
            op["requestBody"] = body;
        }

        return op;
    }

    private static JsonObject Responses(params (string Status, JsonObject Response)[] responses) =>
        new([.. responses.Select(r => KeyValuePair.Create(r.Status, (JsonNode?)r.Response))]);

    private static JsonObject Json(string schema, string description) => new()
    {
        ["description"] = description,
        ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = Ref(schema) } },
    };

    private static JsonObject Problem(string description) => new()
    {
        ["description"] = description,
        ["content"] = new JsonObject { ["application/problem+json"] = new JsonObject { ["schema"] = Ref("Problem") } },
    };

    private static JsonObject Body(string schema) => new()
    {
        ["required"] = true,
        ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = Ref(schema) } },
    };

    private static JsonObject Path(string name, string description) => new() { ["name"] = name, ["in"] = "path", ["required"] = true, ["description"] = description, ["schema"] = Str() };

    private static JsonObject Query(string name, string description) => new() { ["name"] = name, ["in"] = "query", ["description"] = description, ["schema"] = Str() };

    private static JsonObject Ref(string schema) => new() { ["$ref"] = "#/components/schemas/" + schema };

    private static JsonObject Str(string? description = null) => description is null ? new() { ["type"] = "string" } : new() { ["type"] = "string", ["description"] = description };

    private static JsonObject Int() => new() { ["type"] = "integer" };

    private static JsonObject Time() => new() { ["type"] = "string", ["format"] = "date-time" };

    private static JsonObject Nullable(JsonObject schema)
    {
        schema["type"] = new JsonArray(schema["type"]!.GetValue<string>(), "null");
        return schema;
    }

    private static JsonObject Enum(params string[] values) => new() { ["type"] = "string", ["enum"] = new JsonArray([.. values.Select(v => (JsonNode)v)]) };

    private static JsonObject Array(JsonObject items) => new() { ["type"] = "array", ["items"] = items };

    private static JsonObject Object(params (string Name, JsonObject Schema)[] properties) => new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject([.. properties.Select(p => KeyValuePair.Create(p.Name, (JsonNode?)p.Schema))]),
    };

    private static JsonObject Input(string[] required, params (string Name, JsonObject Schema)[] properties)
    {
        var schema = Object(properties);
        if (required.Length > 0)
        {
            schema["required"] = new JsonArray([.. required.Select(r => (JsonNode)r)]);
        }
        else
        {
            schema["minProperties"] = 1;
        }

        schema["additionalProperties"] = false;
        return schema;
    }
}
