using System.Globalization;
using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Admin;

/// <summary>
/// <c>POST /admin/applications/{id}/keys</c> makes an API key and shows it once; only its hash, display prefix and
/// expiry reach the application. <c>GET /admin/applications/{id}/keys</c> lists them with each one's handle: its
/// prefix, or for a key written without one (in a config file) the first 16 hex digits of its SHA-256.
/// <c>DELETE /admin/applications/{id}/keys/{handle}</c> revokes one.
/// <c>POST /admin/applications/{id}/keys/{prefix}/rotate</c> makes a new key and lets the old one expire after a grace
/// period, in one revision, so clients can switch over without a window in which neither key works.
/// </summary>
internal static class KeyEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ConfigChanges changes, AdminApiOptions options)
    {
        app.MapGet("/admin/applications/{name}/keys", context => ListAsync(context, changes));
        app.MapPost("/admin/applications/{name}/keys", context => CreateAsync(context, changes, options));
        app.MapDelete("/admin/applications/{name}/keys/{handle}", context => RevokeAsync(context, changes));
        app.MapPost("/admin/applications/{name}/keys/{handle}/rotate", context => RotateAsync(context, changes, options));
    }

    /// <summary>How long the old key of a rotation keeps working when the request does not say.</summary>
    public static readonly TimeSpan DefaultGrace = TimeSpan.FromHours(1);

    private const string TimeFormat = "yyyy-MM-dd'T'HH:mm:ss'Z'";

    /// <summary>Hex digits of the SHA-256 that name a key written without a prefix.</summary>
    public const int HashHandleLength = 16;

    /// <summary>
    /// The handle that names <paramref name="key"/> in the key endpoints' URLs: its display prefix, or (a key from a
    /// config file, written with its hash only) the first <see cref="HashHandleLength"/> hex digits of its SHA-256,
    /// which never change while the key exists.
    /// </summary>
    public static string? Handle(JsonNode? key) =>
        key?["prefix"]?.ToString() is { Length: > 0 } prefix ? prefix
        : key?["sha256"]?.ToString() is { Length: >= HashHandleLength } hash ? hash[..HashHandleLength].ToLowerInvariant()
        : null;

    /// <summary>Whether <paramref name="handle"/> names <paramref name="key"/>: its handle, or its whole SHA-256.</summary>
    private static bool Names(JsonNode? key, string handle) =>
        Handle(key) == handle
        || (key?["sha256"]?.ToString() is { Length: > 0 } hash && string.Equals(hash, handle, StringComparison.OrdinalIgnoreCase))
        || (key?["prefix"] is null && key?["sha256"]?.ToString() is { Length: >= HashHandleLength } h && string.Equals(h[..HashHandleLength], handle, StringComparison.OrdinalIgnoreCase));

    private static async Task ListAsync(HttpContext context, ConfigChanges changes)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var application = await changes.Store.GetAsync(ResourceKinds.Application, name, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        if (application is null)
        {
            await AdminProblem.NotFound($"application '{name}'").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var items = new JsonArray();
        if (AdminRequests.Json(application.Body)?["keys"] is JsonArray keys)
        {
            foreach (var key in keys)
            {
                items.Add(new JsonObject
                {
                    ["handle"] = Handle(key),
                    ["prefix"] = key?["prefix"]?.DeepClone(),
                    ["sha256"] = key?["sha256"]?.DeepClone(),
                    ["expires"] = key?["expires"]?.DeepClone(),
                });
            }
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["application"] = name, ["items"] = items }).ConfigureAwait(false);
    }

    private static async Task CreateAsync(HttpContext context, ConfigChanges changes, AdminApiOptions options)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var (request, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize, allowEmpty: true).ConfigureAwait(false);
        DateTimeOffset? expires = null;
        if (problem is null && request?["expires"] is { } given)
        {
            if (given.GetValueKind() == System.Text.Json.JsonValueKind.String
                && DateTimeOffset.TryParse(given.GetValue<string>(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            {
                expires = at.ToUniversalTime();
            }
            else
            {
                problem = AdminRequests.BadParameter("'expires' must be a date and time such as 2027-01-31T00:00:00Z.");
            }
        }

        if (problem is null && expires is { } when && when <= options.Time.GetUtcNow())
        {
            // A key that is born expired would be shown once and never work: refuse it rather than answer 201.
            problem = InvalidKey("expires", $"{when.ToString(TimeFormat, CultureInfo.InvariantCulture)} is not in the future; give a later time, or leave 'expires' out for a key that does not expire.");
        }

        if (problem is null && request is not null && request.Any(p => p.Key != "expires"))
        {
            problem = AdminRequests.BadParameter("The body may only hold 'expires'.");
        }

        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        string? key = null;
        string? prefix = null;
        string? hash = null;
        var outcome = await changes.ChangeAsync(
            current => Edit(current, name, keys =>
            {
                (key, prefix, hash) = AddKey(keys, expires);
                return null;
            }),
            AdminCaller.Actor(context),
            $"new key for application {name}",
            context.RequestAborted).ConfigureAwait(false);

        await WriteNewKeyAsync(context, changes, outcome, name, NewKey(key, prefix, hash, expires)).ConfigureAwait(false);
    }

    private static async Task RotateAsync(HttpContext context, ConfigChanges changes, AdminApiOptions options)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var old = (string)context.Request.RouteValues["handle"]!;
        var (request, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize, allowEmpty: true).ConfigureAwait(false);
        var grace = DefaultGrace;
        if (problem is null && request?["grace"] is { } given)
        {
            if (given.GetValueKind() != System.Text.Json.JsonValueKind.String
                || !Model.Loading.Units.TryParseDuration(given.GetValue<string>(), out grace)
                || grace < TimeSpan.Zero)
            {
                problem = AdminRequests.BadParameter("'grace' must be a duration such as 0s, 15m or 24h: how long the old key keeps working.");
            }
        }

        if (problem is null && request is not null && request.Any(p => p.Key != "grace"))
        {
            problem = AdminRequests.BadParameter("The body may only hold 'grace'.");
        }

        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        // Whole seconds, as key expiries are written; a grace of 0 removes the old key in the same revision.
        var now = options.Time.GetUtcNow();
        var until = DateTimeOffset.FromUnixTimeSeconds((now + grace).ToUnixTimeSeconds());
        string? key = null;
        string? prefix = null;
        string? hash = null;
        DateTimeOffset? expires = null;
        string? oldExpires = null;
        var outcome = await changes.ChangeAsync(
            current => Edit(current, name, keys =>
            {
                // Decided again on a fresh read when another control plane committed meanwhile: start clean.
                (expires, oldExpires) = (null, null);
                var matching = keys.Where(k => Names(k, old)).ToList();
                if (matching.Count == 0)
                {
                    return AdminProblem.NotFound($"A key with handle '{old}' of application '{name}' (GET /admin/applications/{name}/keys lists them)");
                }

                // The new key inherits the old one's expiry: rotating must not extend what the old key was allowed.
                foreach (var match in matching)
                {
                    if (match?["expires"]?.ToString() is { } text
                        && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                    {
                        expires = expires is { } e && e < at ? e : at.ToUniversalTime();
                    }
                }

                // The old key works until the grace period ends, or until its own expiry when that comes first.
                var end = expires is { } own && own < until ? own : until;
                foreach (var match in matching)
                {
                    if (grace == TimeSpan.Zero)
                    {
                        keys.Remove(match);
                    }
                    else
                    {
                        oldExpires = end.ToString(TimeFormat, CultureInfo.InvariantCulture);
                        match!["expires"] = oldExpires;
                    }
                }

                (key, prefix, hash) = AddKey(keys, expires);
                return null;
            }),
            AdminCaller.Actor(context),
            $"rotate key {old} of application {name}",
            context.RequestAborted).ConfigureAwait(false);

        var answer = NewKey(key, prefix, hash, expires);
        answer["previous"] = new JsonObject { ["prefix"] = old, ["expires"] = oldExpires, ["revoked"] = oldExpires is null };
        await WriteNewKeyAsync(context, changes, outcome, name, answer).ConfigureAwait(false);
    }

    private static JsonObject NewKey(string? key, string? prefix, string? hash, DateTimeOffset? expires) => new()
    {
        ["key"] = key,
        ["prefix"] = prefix,
        ["sha256"] = hash,
        ["expires"] = expires?.ToString(TimeFormat, CultureInfo.InvariantCulture),
    };

    // The plaintext is in this one answer: never cached on the way.
    private static Task WriteNewKeyAsync(HttpContext context, ConfigChanges changes, ChangeOutcome outcome, string name, JsonObject answer)
    {
        context.Response.Headers.CacheControl = "no-store";
        return ResourceEndpoints.WriteOutcomeAsync(context, changes, outcome, ResourceKinds.Application, name, StatusCodes.Status201Created, answer);
    }

    /// <summary>Adds a fresh key (hash, a display prefix unique within <paramref name="keys"/>, expiry) and returns it.</summary>
    private static (string Key, string Prefix, string Hash) AddKey(JsonArray keys, DateTimeOffset? expires)
    {
        var taken = keys.Select(k => k?["prefix"]?.ToString()).ToHashSet(StringComparer.Ordinal);
        // The display prefix is how a key is revoked, so it must be unique within the application.
        string key;
        string prefix;
        do
        {
            key = ApiKeyHash.NewKey();
            prefix = ApiKeyHash.DisplayPrefix(key);
        }
        while (taken.Contains(prefix));

        var hash = ApiKeyHash.Sha256Hex(key);
        var entry = new JsonObject { ["sha256"] = hash, ["prefix"] = prefix };
        if (expires is { } e)
        {
            entry["expires"] = e.ToString(TimeFormat, CultureInfo.InvariantCulture);
        }

        keys.Add(entry);
        return (key, prefix, hash);
    }

    private static async Task RevokeAsync(HttpContext context, ConfigChanges changes)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var prefix = (string)context.Request.RouteValues["handle"]!;
        var outcome = await changes.ChangeAsync(
            current => Edit(current, name, keys =>
            {
                var matching = keys.Where(k => Names(k, prefix)).ToList();
                if (matching.Count == 0)
                {
                    return AdminProblem.NotFound($"A key with handle '{prefix}' of application '{name}' (GET /admin/applications/{name}/keys lists them)");
                }

                foreach (var match in matching)
                {
                    keys.Remove(match);
                }

                return null;
            }),
            AdminCaller.Actor(context),
            $"revoke key {prefix} of application {name}",
            context.RequestAborted).ConfigureAwait(false);
        await ResourceEndpoints.WriteOutcomeAsync(context, changes, outcome, ResourceKinds.Application, name, StatusCodes.Status200OK).ConfigureAwait(false);
    }

    private static AdminProblem InvalidKey(string path, string message) => new(
        StatusCodes.Status422UnprocessableEntity,
        "invalid-key",
        "Invalid key request",
        $"{path}: {message}",
        new JsonObject { ["errors"] = new JsonArray(new JsonObject { ["path"] = path, ["message"] = message }) });

    /// <summary>A change of the application's <c>keys</c> list made by <paramref name="edit"/> (which may refuse with a problem).</summary>
    private static ChangePlan Edit(
        IReadOnlyDictionary<(string Kind, string Name), StoredResource> current, string name, Func<JsonArray, AdminProblem?> edit)
    {
        if (!current.TryGetValue((ResourceKinds.Application, name), out var application))
        {
            return ChangePlan.Refuse(AdminProblem.NotFound($"application '{name}'"));
        }

        if (AdminRequests.Json(application.Body) is not JsonObject body)
        {
            return ChangePlan.Refuse(new AdminProblem(StatusCodes.Status409Conflict, "admin-not-an-object", "Application is not an object",
                $"application '{name}' is not a JSON object; PUT a valid application first."));
        }

        if (body["keys"] is not JsonArray keys)
        {
            if (body["keys"] is not null)
            {
                return ChangePlan.Refuse(new AdminProblem(StatusCodes.Status409Conflict, "admin-not-an-object", "Keys are not a list",
                    $"application '{name}' has 'keys' that is not a list; PUT the application with a list of keys first."));
            }

            keys = [];
            body["keys"] = keys;
        }

        return edit(keys) is { } problem
            ? ChangePlan.Refuse(problem)
            : new ChangePlan([new ResourceChange(ResourceKinds.Application, name, body.ToJsonString())]);
    }
}
