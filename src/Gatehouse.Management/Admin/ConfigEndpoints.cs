using System.Globalization;
using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Validation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Admin;

/// <summary>
/// <c>GET /admin/config</c>: the current revision's whole document. <c>POST /admin/config</c>: replace the whole
/// configuration with a document in one revision (creates, updates and deletes together, or nothing), answering
/// with what changed; <c>?dryRun=true</c> validates and answers the same diff without committing.
/// </summary>
internal static class ConfigEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ConfigChanges changes, AdminApiOptions options)
    {
        app.MapGet("/admin/config", context => GetAsync(context, changes.Store));
        app.MapPost("/admin/config", context => ReplaceAsync(context, changes, options));
    }

    /// <summary>The ETag of a whole configuration: the revision it is (If-Match on POST compares it).</summary>
    internal static string ETagOf(long revision) => "\"revision-" + revision.ToString(CultureInfo.InvariantCulture) + "\"";

    private static async Task GetAsync(HttpContext context, IConfigStore store)
    {
        var (revision, document) = await StoreConfig.ComposeAsync(store, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        context.Response.Headers.ETag = ETagOf(revision);
        context.Response.Headers["Gatehouse-Revision"] = revision.ToString(CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(document, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task ReplaceAsync(HttpContext context, ConfigChanges changes, AdminApiOptions options)
    {
        var dryRunText = context.Request.Query["dryRun"].ToString();
        if (dryRunText.Length > 0 && dryRunText is not ("true" or "false"))
        {
            await AdminRequests.BadParameter("'dryRun' must be true or false.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var dryRun = dryRunText == "true";
        var (document, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
        IReadOnlyList<ConfigResource> desired = [];
        if (problem is null)
        {
            problem = Desired(document!, out desired);
        }

        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var ifMatch = context.Request.Headers.IfMatch.ToString();
        List<(ResourceChange Change, string Action)> planned = [];
        var outcome = await changes.ChangeAsync(
            (revision, current) =>
            {
                if (!RevisionMatches(ifMatch, revision))
                {
                    return ChangePlan.Refuse(new AdminProblem(
                        StatusCodes.Status412PreconditionFailed,
                        "precondition-failed",
                        "Precondition failed",
                        $"The configuration changed since you read it (it is now revision {revision}, ETag {ETagOf(revision)}); GET /admin/config again, re-apply your change and send it with the new ETag."));
                }

                planned = Plan(current, desired);
                return new ChangePlan(planned.Select(p => p.Change).ToList());
            },
            AdminCaller.Actor(context),
            "POST /admin/config",
            dryRun,
            context.RequestAborted).ConfigureAwait(false);
        if (outcome.Problem is not null)
        {
            await outcome.Problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var commit = outcome.Commit!;
        var list = new JsonArray();
        foreach (var (change, action) in planned)
        {
            list.Add(new JsonObject { ["kind"] = change.Kind, ["name"] = change.Name, ["change"] = action });
        }

        var body = new JsonObject
        {
            ["revision"] = commit.Revision,
            ["changed"] = commit.Changed,
            ["dryRun"] = dryRun,
            ["applied"] = outcome.ApplyErrors.Count == 0,
            ["created"] = planned.Count(p => p.Action == "create"),
            ["updated"] = planned.Count(p => p.Action == "update"),
            ["deleted"] = planned.Count(p => p.Action == "delete"),
            ["changes"] = list,
        };
        if (outcome.ApplyErrors.Count > 0)
        {
            body["applyErrors"] = new JsonArray(outcome.ApplyErrors.Select(e => (JsonNode?)e).ToArray());
        }

        context.Response.Headers.ETag = ETagOf(commit.Revision);
        await AdminRequests.WriteJsonAsync(context, body).ConfigureAwait(false);
    }

    /// <summary>The document's resources, or the 422 that refuses it (wrong version, unknown sections, sections that are not mappings).</summary>
    private static AdminProblem? Desired(JsonObject document, out IReadOnlyList<ConfigResource> desired)
    {
        var errors = new List<ConfigError>();
        if (document["version"] is not JsonValue version
            || !version.TryGetValue<int>(out var number)
            || number != GatehouseConfig.CurrentVersion)
        {
            errors.Add(new ConfigError("version", $"the document must start with version {GatehouseConfig.CurrentVersion}; this Gatehouse reads version {GatehouseConfig.CurrentVersion}."));
        }

        // The body is already parsed (and checked to be JSON); splitting that tree spares a second parse of a document
        // that may hold every resource of the store.
        desired = ConfigDocument.Split(document, out var splitErrors);
        errors.AddRange(splitErrors);
        return errors.Count == 0 ? null : ConfigChanges.Invalid(errors);
    }

    /// <summary>
    /// The changes that turn <paramref name="current"/> into <paramref name="desired"/>. Bodies are compared as JSON
    /// values, not as text, so a document that only differs in whitespace or key order changes nothing; equal text (the
    /// usual case when a file is applied again) is known equal without parsing either.
    /// </summary>
    private static List<(ResourceChange Change, string Action)> Plan(
        IReadOnlyDictionary<(string Kind, string Name), StoredResource> current, IReadOnlyList<ConfigResource> desired)
    {
        var plan = new List<(ResourceChange, string)>();
        var wanted = new HashSet<(string, string)>();
        foreach (var resource in desired)
        {
            wanted.Add((resource.Kind, resource.Name));
            if (!current.TryGetValue((resource.Kind, resource.Name), out var existing))
            {
                plan.Add((new ResourceChange(resource.Kind, resource.Name, resource.Body), "create"));
            }
            else if (!string.Equals(existing.Body, resource.Body, StringComparison.Ordinal)
                && !JsonNode.DeepEquals(JsonNode.Parse(existing.Body), JsonNode.Parse(resource.Body)))
            {
                plan.Add((new ResourceChange(resource.Kind, resource.Name, resource.Body), "update"));
            }
        }

        foreach (var key in current.Keys.Where(k => !wanted.Contains(k)).OrderBy(k => k.Kind, StringComparer.Ordinal).ThenBy(k => k.Name, StringComparer.Ordinal))
        {
            plan.Add((new ResourceChange(key.Kind, key.Name, null), "delete"));
        }

        return plan;
    }

    private static bool RevisionMatches(string ifMatch, long revision)
    {
        if (string.IsNullOrWhiteSpace(ifMatch))
        {
            return true;
        }

        var tag = ETagOf(revision);
        return ifMatch.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Any(p => p == "*" || p == tag);
    }
}
