using System.Text.Json.Nodes;
using static Gatehouse.Management.Admin.AdminOpenApi;

namespace Gatehouse.Management.Portal;

/// <summary>
/// The OpenAPI 3.1 document of the portal's JSON API (<c>GET /api/v1/openapi.json</c>), written out by hand like the admin
/// API's and with its schema and response helpers (<see cref="Admin.AdminOpenApi"/>); only the operations' shared refusals are its own.
/// </summary>
internal static class PortalApiDocument
{
    public static JsonObject Build()
    {
        var id = PathParameter("id", "The application's id (app-…).");
        var prefix = PathParameter("prefix", "The key's prefix, as listed (ghk_ and four more characters).");
        var clientId = PathParameter("clientId", "An OAuth client id the application holds, as one path segment (a '/' in it written %2F).");
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
                        Body("NewApplication", "The application")),
                },
                ["/applications/{id}"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone()),
                    ["get"] = Op("getApplication", "Applications", "One application", Responses(("200", application), ("404", Problem("No application of this account has this id")))),
                    ["patch"] = Op("changeApplication", "Applications", "Rename the application, or move it to another plan (onto a plan that needs approval it goes pending)",
                        Responses(("200", Json("Application", "Changed")), ("404", Problem("No application of this account has this id")),
                            ("422", Problem("A title or description that is not allowed, or not a plan the account may choose (invalid-input)"))),
                        Body("ApplicationChange", "What to change")),
                    ["delete"] = Op("deleteApplication", "Applications", "Delete the application: its keys stop working at once",
                        Responses(("204", new JsonObject { ["description"] = "Deleted" }), ("404", Problem("No application of this account has this id")))),
                },
                ["/applications/{id}/keys"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone()),
                    ["post"] = Op("newKey", "Applications", "A new key (shown only in this answer) for an application that has no key that works: its last one revoked, or every one expired",
                        Responses(("201", Json("NewKey", "The new key")), ("403", Problem("The account waits for approval (account-not-active), or the token is read-only")),
                            ("404", Problem("No application of this account has this id")),
                            ("409", Problem("The application has a key that works: rotate it (application-has-key), or it is suspended (application-suspended)")),
                            ("422", Problem("A keyExpiresIn that is not allowed, or longer than the portal allows (invalid-input)"))),
                        Body("KeyRequest", "When the key expires")),
                },
                ["/applications/{id}/keys/{prefix}/rotate"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone(), prefix.DeepClone()),
                    ["post"] = Op("rotateKey", "Applications", "A new key (shown only in this answer); the old one keeps working for the grace period",
                        Responses(("201", Json("NewKey", "The new key")), ("404", Problem("No such application or key")), ("409", Problem("The key has expired: its successor would have too (key-expired)")),
                            ("422", Problem("A grace period that is not 0s to 30d (invalid-input)"))),
                        Body("Rotation", "How long the old key keeps working")),
                },
                ["/applications/{id}/keys/{prefix}"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone(), prefix.DeepClone()),
                    ["delete"] = Op("revokeKey", "Applications", "Revoke a key: it stops working at once",
                        Responses(("204", new JsonObject { ["description"] = "Revoked" }), ("404", Problem("No such application or key")))),
                },
                ["/applications/{id}/allowed-addresses"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone()),
                    ["put"] = Op("setAllowedAddresses", "Applications",
                        "Set the addresses the application's keys and tokens may call the gateway from, replacing the list ([] for any): a credential used from elsewhere is refused (403 ip-refused) before anything is counted. They narrow what the plan allows, never widen it",
                        Responses(("200", Json("Application", "Changed")), ("404", Problem("No application of this account has this id")),
                            ("422", Problem("An entry that is not an address or range, or more than 50 (invalid-input)"))),
                        Body("AllowedAddresses", "The addresses")),
                },
                ["/applications/{id}/oauth-clients"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone()),
                    ["post"] = Op("registerOAuthClient", "Applications",
                        "Register an OAuth client at the portal's provider (RFC 7591) whose tokens mean this application: a confidential client of the client credentials grant; its secret is only in this answer",
                        Responses(("201", Json("NewClient", "The client")), ("404", Problem("No application of this account has this id, or this portal registers no OAuth clients (oauth-registration-off)")),
                            ("409", Problem("The application holds 20 client ids already (too-many-client-ids)")), ("502", Problem("The provider refused the registration (oauth-registration-refused)")),
                            ("503", Problem("The provider cannot be reached now (oauth-registration-unavailable)")))),
                },
                ["/applications/{id}/oauth-clients/{clientId}"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(id.DeepClone(), clientId.DeepClone()),
                    ["delete"] = Op("removeOAuthClient", "Applications",
                        "Take a client id from the application: its tokens stop meaning it at once; a client this portal registered is deleted at the provider (RFC 7592), now or, when the provider cannot be reached, later",
                        Responses(("204", new JsonObject { ["description"] = "Removed" }), ("404", Problem("No such application, or it does not hold this client id")))),
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
                        Query("from", "string", "The first day, 2026-01-31 (default: 29 days before 'to')."),
                        Query("to", "string", "The last day (default: today, UTC); at most 400 days after 'from'.")),
                    ["get"] = Op("getUsage", "Applications", "Calls per day by status class, model tokens, and what is left of each of the plan's limits",
                        Responses(("200", Json("Usage", "The report")), ("400", Problem("'from' or 'to' is not a day, or not a range of at most 400 days (admin-bad-parameter)")),
                            ("404", Problem("No such application, or this node records no usage (usage-off)")))),
                },
                ["/applications/{id}/usage.csv"] = new JsonObject
                {
                    ["parameters"] = new JsonArray(
                        id.DeepClone(),
                        Query("from", "string", "The first day, 2026-01-31 (default: 29 days before 'to')."),
                        Query("to", "string", "The last day (default: today, UTC); at most 400 days after 'from'.")),
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
        ["Problem"] = Object(null, ("type", Str()), ("title", Str()), ("status", Int()), ("detail", Str()), ("instance", Str())),
        ["Token"] = Object(null, ("name", Str()), ("prefix", Str()), ("scope", Choice("read", "write")), ("createdAt", Time()), ("expiresAt", NullableTime()), ("lastUsedAt", NullableTime())),
        ["Me"] = Object(null, ("id", Str()), ("email", Str()), ("title", Str()), ("state", Choice("active", "pending")), ("createdAt", Time()), ("token", SchemaRef("Token"))),
        ["Key"] = Object(null, ("prefix", Str()), ("createdAt", Time()), ("expiresAt", NullableTime())),
        ["Application"] = Object(null, ("id", Str()), ("title", Str()), ("description", Str()), ("plan", Str()), ("state", Choice("live", "pending", "suspended")),
            ("createdAt", Time()), ("keys", Array(SchemaRef("Key"))),
            ("clientIds", Array(Str("An OAuth client id whose tokens mean this application at the gateway"))),
            ("allowedAddresses", Array(Str("An address or CIDR range the application's credentials may call from; none: any")))),
        ["AllowedAddresses"] = Input(["allowedAddresses"], ("allowedAddresses", Array(Str("An IP address (192.0.2.7) or CIDR range (10.0.0.0/8), written out in full; at most 50")))),
        ["ApplicationList"] = Object(null, ("items", Array(SchemaRef("Application")))),
        ["NewClient"] = Object(null, ("application", SchemaRef("Application")), ("clientId", Str()), ("clientSecret", Str("The client's secret: shown only here, the portal does not keep it")),
            ("clientSecretExpiresAt", NullableTime()), ("tokenEndpoint", Str("Where the client gets tokens (client credentials grant)"))),
        ["NewKey"] = Object(null, ("application", SchemaRef("Application")), ("key", Str("The key itself: shown only here, the portal keeps only its hash"))),
        ["NewApplication"] = Input(["title", "plan"], ("title", Str("1 to 100 characters")), ("description", Str("At most 1,000 characters")), ("plan", Str("One of GET /plans")),
            ("keyExpiresIn", Choice("30d", "90d", "365d"))),
        ["ApplicationChange"] = Input([], ("title", Str("1 to 100 characters")), ("description", Str("At most 1,000 characters")), ("plan", Str("One of GET /plans"))),
        ["KeyRequest"] = Input([], ("keyExpiresIn", Choice("30d", "90d", "365d"))),
        ["Rotation"] = Input(["grace"], ("grace", Str("How long the old key keeps working: 0s (ends it now) to 30d, for example 1h or 7d"))),
        ["Plan"] = Object(null, ("name", Str()), ("title", Str()), ("description", Nullable("string", "What the plan is for (plans.NAME.description)", null)), ("approvalRequired", Bool()),
            ("limits", Array(Object(null, ("requests", Int()), ("per", Str())))), ("operations", Array(Object("One route of the plan's operations (an operation served on two routes is listed twice)",
                ("id", Str("The operation id, or a route's id for a route bound to no operation")), ("method", Str("The public method")),
                ("path", Str("The public path template")), ("access", Choice("read", "write")),
                ("requireScopes", Array(Str(), "The OAuth scopes a bearer token must carry, every one, to call it here (the operation's or composition's, then its route's); empty when it needs none, and any key or token of the plan may call it"))))),
            ("openapi", Str("The plan's own API document on the portal"))),
        ["PlanList"] = Object(null, ("items", Array(SchemaRef("Plan")))),
        ["Activity"] = Object(null, ("items", Array(Object(null, ("at", Time()), ("who", Str()), ("what", Str()))))),
        ["Usage"] = Object(null, ("application", Str()),
            ("days", Array(Object(null, ("day", Str()), ("calls", Int()), ("clientErrors", Int()), ("errors", Int()), ("p95Ms", new JsonObject { ["type"] = "number" }),
                ("modelCalls", Int()), ("promptTokens", Int()), ("completionTokens", Int()), ("totalTokens", Int())))),
            ("limits", Array(Object(null, ("name", Str()), ("period", Str()), ("quota", Bool()), ("shadow", Bool()),
                ("limit", Int()), ("used", Int()), ("remaining", Int()), ("resetsAt", Time()))))),
    };

    // Every call but the document itself takes a token, so every operation can be refused for it, and a body for its shape.
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

    private static JsonObject Time() => Str(null, "date-time");

    private static JsonObject NullableTime() => Nullable("string", null, "date-time");

    private static JsonObject Choice(params string[] values) => Enum(Str(), values);

    // A request body: only the fields named, at least one of them when none is required.
    private static JsonObject Input(string[] required, params (string Name, JsonNode Schema)[] properties)
    {
        var schema = Object(null, properties);
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
