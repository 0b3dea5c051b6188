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
/// expiry reach the application. <c>DELETE /admin/applications/{id}/keys/{prefix}</c> revokes one.
/// </summary>
internal static class KeyEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ConfigChanges changes, AdminApiOptions options)
    {
        app.MapPost("/admin/applications/{name}/keys", context => CreateAsync(context, changes, options));
        app.MapDelete("/admin/applications/{name}/keys/{prefix}", context => RevokeAsync(context, changes));
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
                var taken = keys.Select(k => k?["prefix"]?.ToString()).ToHashSet(StringComparer.Ordinal);
                // The display prefix is how a key is revoked, so it must be unique within the application.
                do
                {
                    key = ApiKeyHash.NewKey();
                    prefix = ApiKeyHash.DisplayPrefix(key);
                }
                while (taken.Contains(prefix));

                hash = ApiKeyHash.Sha256Hex(key);
                var entry = new JsonObject { ["sha256"] = hash, ["prefix"] = prefix };
                if (expires is { } e)
                {
                    entry["expires"] = e.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
                }

                keys.Add(entry);
                return null;
            }),
            ResourceEndpoints.Actor,
            $"new key for application {name}",
            context.RequestAborted).ConfigureAwait(false);

        context.Response.Headers.CacheControl = "no-store";
        await ResourceEndpoints.WriteOutcomeAsync(context, changes, outcome, ResourceKinds.Application, name, StatusCodes.Status201Created, new JsonObject
        {
            ["key"] = key,
            ["prefix"] = prefix,
            ["sha256"] = hash,
            ["expires"] = expires?.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
        }).ConfigureAwait(false);
    }

    private static async Task RevokeAsync(HttpContext context, ConfigChanges changes)
    {
        var name = (string)context.Request.RouteValues["name"]!;
        var prefix = (string)context.Request.RouteValues["prefix"]!;
        var outcome = await changes.ChangeAsync(
            current => Edit(current, name, keys =>
            {
                var matching = keys.Where(k => k?["prefix"]?.ToString() == prefix).ToList();
                if (matching.Count == 0)
                {
                    return AdminProblem.NotFound($"A key with prefix '{prefix}' of application '{name}'");
                }

                foreach (var match in matching)
                {
                    keys.Remove(match);
                }

                return null;
            }),
            ResourceEndpoints.Actor,
            $"revoke key {prefix} of application {name}",
            context.RequestAborted).ConfigureAwait(false);
        await ResourceEndpoints.WriteOutcomeAsync(context, changes, outcome, ResourceKinds.Application, name, StatusCodes.Status200OK).ConfigureAwait(false);
    }

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
