using System.Text.Json.Nodes;

namespace Gatehouse.Management.Admin;

/// <summary>The shared responses and the schemas of the admin API's own bodies (answers, keys, revisions, audit, problems).</summary>
internal static partial class AdminOpenApi
{
    /// <summary>The status of each shared response, so that an operation lists it under the right code.</summary>
    private static readonly Dictionary<string, string> ResponseStatus = new(StringComparer.Ordinal)
    {
        ["BadParameter"] = "400",
        ["BadRequest"] = "400",
        ["Unauthorized"] = "401",
        ["Forbidden"] = "403",
        ["NotFound"] = "404",
        ["Conflict"] = "409",
        ["NotPending"] = "409",
        ["NodeLive"] = "409",
        ["PreconditionFailed"] = "412",
        ["TooLarge"] = "413",
        ["InvalidConfig"] = "422",
        ["InvalidKey"] = "422",
        ["InvalidRegistration"] = "422",
        ["StoreUnavailable"] = "503",
    };

    private static JsonObject Components()
    {
        var responses = new JsonObject
        {
            ["BadParameter"] = Problem("A query parameter is not valid (admin-bad-parameter)"),
            ["BadRequest"] = Problem("The body is not a JSON object, or a parameter is not valid (malformed-json, admin-bad-parameter)"),
            ["Unauthorized"] = Problem("No admin token, or a wrong one (admin-unauthorized); WWW-Authenticate says what to send"),
            ["Forbidden"] = Problem("This token may not do this: a registration token of another service (registration-forbidden), a read-only named token asked to change something, or a named token asked to manage admin tokens (admin-forbidden)"),
            ["NotFound"] = Problem("It does not exist (admin-not-found)"),
            ["Conflict"] = Problem("Another control plane committed at the same moment, twice (revision-conflict), or the stored resource cannot be edited so (admin-not-an-object); send it again"),
            ["NotPending"] = Problem("The application is not pending (application-not-pending)"),
            ["NodeLive"] = Problem("The node still reports (node-live): stop it first"),
            ["PreconditionFailed"] = Problem("If-Match did not match: the resource changed since it was read (precondition-failed)"),
            ["TooLarge"] = Problem("The body is larger than the admin API's limit (body-too-large)"),
            ["InvalidConfig"] = Problem("The change would make the configuration invalid (invalid-config); 'errors' lists every error with its path", "ProblemWithErrors"),
            ["InvalidKey"] = Problem("The key request cannot make a key that works (invalid-key: an 'expires' in the past), or the change would make the configuration invalid (invalid-config); 'errors' has the paths", "ProblemWithErrors"),
            ["InvalidRegistration"] = Problem("The registration is not valid (invalid-registration); 'errors' lists each with its path", "ProblemWithErrors"),
            ["StoreUnavailable"] = Problem("The configuration store did not answer (store-unavailable); nothing changed. Retry-After says when to try again"),
        };
        responses["Unauthorized"]!["headers"] = new JsonObject
        {
            ["WWW-Authenticate"] = new JsonObject { ["description"] = "Bearer realm=\"gatehouse-admin\"", ["schema"] = new JsonObject { ["type"] = "string" } },
        };
        responses["StoreUnavailable"]!["headers"] = new JsonObject
        {
            ["Retry-After"] = new JsonObject { ["description"] = "Seconds to wait before sending again", ["schema"] = new JsonObject { ["type"] = "integer" } },
        };

        var schemas = new JsonObject
        {
            ["Problem"] = Object("An RFC 9457 problem; 'type' is stable (urn:gatehouse:problem:SLUG, docs/problems.md), 'detail' says what to do.",
                ("type", Str("urn:gatehouse:problem:SLUG")), ("title", Str()), ("status", Int()), ("detail", Str()), ("instance", Str())),
            ["ProblemWithErrors"] = new JsonObject
            {
                ["description"] = "A problem with every error and its path.",
                ["allOf"] = new JsonArray(SchemaRef("Problem"), Object(null, ("errors", Array(Object("One error.", ("path", Str("Where, e.g. routes.catalogue.service")), ("message", Str())))))),
            },
            ["ChangeResult"] = Object("What a change of one resource did.",
                ("kind", Str("service, route, plan, account, application, composition or gateway")), ("name", Str()), ("revision", Int("The revision now current")),
                ("changed", Bool("False when the body equalled the stored one: no revision was made")), ("applied", Bool("Whether the gateway of this node serves it")),
                ("applyErrors", Array(Str(), "Why this node's gateway did not serve it (committed all the same)")), ("etag", Str("The resource's new ETag"))),
            ["ResourceList"] = Object("A page of resources of one kind.",
                ("revision", Int()), ("items", Array(Object(null, ("name", Str()), ("etag", Str()), ("body", new JsonObject { ["type"] = "object", ["description"] = "The resource as stored" })))),
                ("next", Nullable("string", "The 'after' for the next page; null on the last"))),
            ["KeyInfo"] = Object("A key of an application, without the key.",
                ("handle", Str("What names the key in the key URLs")), ("prefix", Nullable("string", "The key's first characters, when it was made with one")),
                ("sha256", Str("Lower-case hex SHA-256 of the key")), ("expires", Nullable("string", "When it stops working; null: never", "date-time"))),
            ["KeyList"] = Object("An application's keys.", ("application", Str()), ("items", Array(SchemaRef("KeyInfo")))),
            ["NewKeyRequest"] = Object("Optional settings of a new key.", ("expires", Str("When it stops working; in the future. Default: never", "date-time"))),
            ["NewKey"] = NewKey("A new key, shown once.", []),
            ["RotateRequest"] = Object("Optional settings of a rotation.", ("grace", Str("How long the old key keeps working: a duration such as 0s, 15m, 24h. Default 1h"))),
            ["RotatedKey"] = NewKey("A new key, shown once, and what became of the old one.",
                [("previous", Object(null, ("prefix", Str("The old key's handle")), ("expires", Nullable("string", "When the old key stops working", "date-time")), ("revoked", Bool("Whether it was removed at once"))))]),
            ["ApprovalResult"] = new JsonObject { ["allOf"] = new JsonArray(SchemaRef("ChangeResult"), Object(null, ("state", Str("live or suspended")))) },
            ["ConfigReplaceResult"] = Object("What replacing the whole configuration did (or would do, with dryRun).",
                ("revision", Int()), ("changed", Bool()), ("dryRun", Bool()), ("applied", Bool()), ("created", Int()), ("updated", Int()), ("deleted", Int()),
                ("changes", Array(Object(null, ("kind", Str()), ("name", Str()), ("change", Str("create, update or delete"))))), ("applyErrors", Array(Str()))),
            ["RevisionList"] = Object("A page of revisions, newest first.",
                ("items", Array(Object("One revision.", ("revision", Int()), ("createdAt", Str(null, "date-time")), ("actor", Str()), ("summary", Str())))),
                ("next", Nullable("integer", "The 'before' for the next page; null on the last"))),
            ["RevisionDiff"] = Object("What changed from one revision to another.",
                ("from", Int()), ("to", Int()), ("changes", Array(Object(null, ("kind", Str()), ("name", Str()), ("change", Str("created, updated or deleted")), ("before", AnyJson()), ("after", AnyJson()))))),
            ["RollbackResult"] = Object("The revision a rollback made.", ("revision", Int()), ("changed", Bool()), ("rolledBackTo", Int()), ("applied", Bool())),
            ["AuditList"] = Object("A page of audit entries, newest first.",
                ("items", Array(Object("One changed resource in one revision.", ("id", Int()), ("at", Str(null, "date-time")), ("actor", Str()), ("action", Str("create, update, delete or rollback")),
                    ("kind", Str()), ("name", Str()), ("revision", Int()), ("before", AnyJson()), ("after", AnyJson())))),
                ("next", Nullable("integer", "The 'before' for the next page; null on the last"))),
            ["NodeList"] = Object("Every node that reported to the store.",
                ("revision", Int("The store's current revision")),
                ("items", Array(Object("One node.", ("id", Str()), ("revision", Int("The revision it serves")), ("lastSeen", Str(null, "date-time")), ("stale", Bool("No report for 3 heartbeats")), ("info", AnyJson()),
                    ("instance", Str("The process that holds the id (a random id each start makes; a hybrid node's is kept in its state folder); absent on rows written without one")),
                    ("clash", Object("Present while another process also runs under this node id (noted within 3 heartbeats): it is refused, writes no usage, and needs an id of its own (--node-id).",
                        ("instance", Str()), ("host", Str()), ("pid", Int()), ("at", Str(null, "date-time")))))))),
            ["NodeRemoved"] = Object("A forgotten node.", ("id", Str()), ("removed", Bool())),
            ["NodeTokenRequest"] = Object("A node token to issue (or rotate, when the name exists).", ("name", Str("1 to 100 letters, digits, '.', '_' or '-'"))),
            ["NodeTokenIssued"] = Object("A node token, shown once; only its SHA-256 is kept.", ("name", Str()), ("token", Str("ghn_…: give it to the data node (--node-token or GATEHOUSE_NODE_TOKEN)"))),
            ["AdminTokenRequest"] = Object("A named admin token to issue (or replace, when the name exists).",
                ("name", Str("1 to 100 letters, digits, '.', '_' or '-'")),
                ("scope", Enum(Str("read: GET and HEAD only; write: everything but managing admin tokens"), "read", "write")),
                ("expires", Str("Optional: when it stops working (RFC 3339, in the future); without it, until revoked", "date-time"))),
            ["AdminTokenIssued"] = Object("A named admin token, shown once; only its SHA-256 is kept.",
                ("name", Str()), ("scope", Enum(Str(), "read", "write")), ("createdAt", Str(format: "date-time")), ("expiresAt", Nullable("string", format: "date-time")), ("expired", Bool()),
                ("token", Str("gha_…: send it as Authorization: Bearer TOKEN"))),
            ["AdminTokenList"] = Object("Every named admin token by name (never the tokens).", ("items", Array(Object(null,
                ("name", Str()), ("scope", Enum(Str(), "read", "write")), ("createdAt", Str(format: "date-time")), ("expiresAt", Nullable("string", format: "date-time")), ("expired", Bool()))))),
            ["NodeTokenList"] = Object("Every node token by name (never the tokens).", ("items", Array(Object(null, ("name", Str()), ("createdAt", Str(format: "date-time")))))),
            ["RegistrationRequest"] = Object("A target registering itself.", ("url", Str("The address it serves on, e.g. http://10.1.2.3:8080")), ("ttl", Str("How long it stays without a heartbeat, e.g. 30s (a number is seconds)"))),
            ["Registration"] = Object("A registered target.", ("service", Str()), ("url", Str()), ("owner", Str("admin or service-token")), ("ttl", Str("The time granted")), ("expiresAt", Str(null, "date-time"))),
            ["RegistrationList"] = Object("Live registered targets.", ("items", Array(Object(null, ("service", Str()), ("url", Str()), ("owner", Str()), ("expiresAt", Str(null, "date-time")))))),
        };
        ((JsonObject)schemas["RegistrationRequest"]!)["required"] = new JsonArray("url");
        foreach (var (name, schema) in AnalyticsSchemas())
        {
            schemas[name] = schema;
        }

        foreach (var (name, schema) in PortalSchemas())
        {
            schemas[name] = schema;
        }

        foreach (var (name, schema) in ConfigBodySchemas.Components())
        {
            schemas[name] = schema!.DeepClone();
        }

        return new JsonObject
        {
            ["securitySchemes"] = new JsonObject
            {
                ["adminToken"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["description"] = "The admin token (GATEHOUSE_ADMIN_TOKEN, or printed once at the first start)" },
                ["registrationToken"] = new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["description"] = "A token whose SHA-256 is in services.NAME.registration.tokenSha256" },
            },
            ["responses"] = responses,
            ["schemas"] = schemas,
        };
    }

    private static JsonObject NewKey(string description, (string, JsonNode)[] more) => Object(description,
        [("key", Str("The key: shown in this answer only")), ("prefix", Str("Its handle")), ("sha256", Str()), ("expires", Nullable("string", null, "date-time")),
            ("kind", Str()), ("name", Str()), ("revision", Int()), ("changed", Bool()), ("applied", Bool()), ("etag", Str()), .. more]);

    internal static JsonObject Problem(string description, string schema = "Problem") => new()
    {
        ["description"] = description,
        ["content"] = new JsonObject { ["application/problem+json"] = new JsonObject { ["schema"] = SchemaRef(schema) } },
    };

    internal static JsonObject Object(string? description, params (string Name, JsonNode Schema)[] properties)
    {
        var props = new JsonObject();
        foreach (var (name, schema) in properties)
        {
            props[name] = schema;
        }

        var result = new JsonObject { ["type"] = "object", ["properties"] = props };
        if (description is not null)
        {
            result["description"] = description;
        }

        return result;
    }

    internal static JsonObject Str(string? description = null, string? format = null)
    {
        var result = new JsonObject { ["type"] = "string" };
        if (format is not null)
        {
            result["format"] = format;
        }

        if (description is not null)
        {
            result["description"] = description;
        }

        return result;
    }

    internal static JsonObject Int(string? description = null) => description is null
        ? new JsonObject { ["type"] = "integer" }
        : new JsonObject { ["type"] = "integer", ["description"] = description };

    internal static JsonObject Bool(string? description = null) => description is null
        ? new JsonObject { ["type"] = "boolean" }
        : new JsonObject { ["type"] = "boolean", ["description"] = description };

    internal static JsonObject Nullable(string type, string? description = null, string? format = null)
    {
        var result = new JsonObject { ["type"] = new JsonArray(type, "null") };
        if (format is not null)
        {
            result["format"] = format;
        }

        if (description is not null)
        {
            result["description"] = description;
        }

        return result;
    }

    internal static JsonObject Array(JsonNode items, string? description = null)
    {
        var result = new JsonObject { ["type"] = "array", ["items"] = items };
        if (description is not null)
        {
            result["description"] = description;
        }

        return result;
    }

    /// <summary>Any JSON value (a stored body, a node's free-form info).</summary>
    private static JsonObject AnyJson() => new() { ["description"] = "Any JSON value, or null" };
}
