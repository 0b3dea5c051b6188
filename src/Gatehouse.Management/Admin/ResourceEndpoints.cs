using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Admin;

/// <summary><c>/admin/{kind}s</c>, <c>/admin/{kind}s/{name}</c> and <c>/admin/gateway</c>: read, create or replace, delete.</summary>
internal static class ResourceEndpoints
{
    public const string Actor = "admin-api";

    public static void Map(IEndpointRouteBuilder app, ConfigChanges changes, AdminApiOptions options)
    {
        foreach (var (kind, section) in ResourceKinds.Named)
        {
            app.MapGet($"/admin/{section}", context => ListAsync(context, changes, kind));
            app.MapGet($"/admin/{section}/{{name}}", context => GetAsync(context, changes, kind, Name(context)));
            app.MapPut($"/admin/{section}/{{name}}", context => PutAsync(context, changes, options, kind, Name(context)));
            app.MapDelete($"/admin/{section}/{{name}}", context => DeleteAsync(context, changes, kind, Name(context)));
        }

        app.MapGet("/admin/gateway", context => GetAsync(context, changes, ResourceKinds.Gateway, ResourceKinds.GatewayName));
        app.MapPut("/admin/gateway", context => PutAsync(context, changes, options, ResourceKinds.Gateway, ResourceKinds.GatewayName));
    }

    // Routing has already percent-decoded the segment (all but %2F, which no valid name holds anyway).
    private static string Name(HttpContext context) => (string)context.Request.RouteValues["name"]!;

    private static async Task ListAsync(HttpContext context, ConfigChanges changes, string kind)
    {
        var (limit, problem) = AdminRequests.Limit(context);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var after = context.Request.Query["after"].ToString();
        var revision = await changes.Store.CurrentRevisionAsync(context.RequestAborted).ConfigureAwait(false);
        var all = await changes.ReadAsync(revision, context.RequestAborted).ConfigureAwait(false);
        var page = all.Values
            .Where(r => r.Kind == kind && (after.Length == 0 || string.CompareOrdinal(r.Name, after) > 0))
            .OrderBy(r => r.Name, StringComparer.Ordinal)
            .Take(limit + 1)
            .ToList();
        var items = new JsonArray();
        foreach (var resource in page.Take(limit))
        {
            items.Add(new JsonObject { ["name"] = resource.Name, ["etag"] = ETags.Of(resource), ["body"] = AdminRequests.Json(resource.Body) });
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject
        {
            ["revision"] = revision,
            ["items"] = items,
            ["next"] = page.Count > limit ? page[limit - 1].Name : null,
        }).ConfigureAwait(false);
    }

    private static async Task GetAsync(HttpContext context, ConfigChanges changes, string kind, string name)
    {
        var resource = await changes.Store.GetAsync(kind, name, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        if (resource is null)
        {
            await AdminProblem.NotFound(Describe(kind, name)).WriteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.Headers.ETag = ETags.Of(resource);
        context.Response.ContentType = "application/json; charset=utf-8";
        await context.Response.WriteAsync(resource.Body, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task PutAsync(HttpContext context, ConfigChanges changes, AdminApiOptions options, string kind, string name)
    {
        var (_, text, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var ifMatch = context.Request.Headers.IfMatch.ToString();
        var outcome = await changes.ChangeAsync(
            current =>
            {
                current.TryGetValue((kind, name), out var existing);
                return ETags.IfMatchAllows(ifMatch, existing)
                    ? new ChangePlan([new ResourceChange(kind, name, kind == ResourceKinds.Application ? ApprovalEndpoints.WithDefaultState(current, name, text) : text)])
                    : ChangePlan.Refuse(PreconditionFailed(kind, name, existing));
            },
            AdminCaller.Actor(context),
            $"PUT {kind} {name}",
            context.RequestAborted).ConfigureAwait(false);
        var created = !outcome.Before.ContainsKey((kind, name));
        await WriteOutcomeAsync(context, changes, outcome, kind, name, created ? StatusCodes.Status201Created : StatusCodes.Status200OK).ConfigureAwait(false);
    }

    private static async Task DeleteAsync(HttpContext context, ConfigChanges changes, string kind, string name)
    {
        var ifMatch = context.Request.Headers.IfMatch.ToString();
        var outcome = await changes.ChangeAsync(
            current =>
            {
                if (!current.TryGetValue((kind, name), out var existing))
                {
                    return ChangePlan.Refuse(AdminProblem.NotFound(Describe(kind, name)));
                }

                return ETags.IfMatchAllows(ifMatch, existing)
                    ? new ChangePlan([new ResourceChange(kind, name, null)])
                    : ChangePlan.Refuse(PreconditionFailed(kind, name, existing));
            },
            AdminCaller.Actor(context),
            $"DELETE {kind} {name}",
            context.RequestAborted).ConfigureAwait(false);
        await WriteOutcomeAsync(context, changes, outcome, kind, name, StatusCodes.Status200OK).ConfigureAwait(false);
    }

    /// <summary>The answer to a change of one resource: the problem, or the revision (and the resource's new ETag).</summary>
    internal static async Task WriteOutcomeAsync(HttpContext context, ConfigChanges changes, ChangeOutcome outcome, string kind, string name, int status, JsonObject? extra = null)
    {
        if (outcome.Problem is not null)
        {
            await outcome.Problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var commit = outcome.Commit!;
        var body = new JsonObject
        {
            ["kind"] = kind,
            ["name"] = name,
            ["revision"] = commit.Revision,
            ["changed"] = commit.Changed,
            ["applied"] = outcome.ApplyErrors.Count == 0,
        };
        if (outcome.ApplyErrors.Count > 0)
        {
            body["applyErrors"] = new JsonArray(outcome.ApplyErrors.Select(e => (JsonNode?)e).ToArray());
        }

        foreach (var (key, value) in extra ?? [])
        {
            body[key] = value?.DeepClone();
        }

        var now = await changes.Store.GetAsync(kind, name, commit.Revision, context.RequestAborted).ConfigureAwait(false);
        if (now is not null)
        {
            context.Response.Headers.ETag = ETags.Of(now);
            body["etag"] = ETags.Of(now);
        }

        await AdminRequests.WriteJsonAsync(context, body, commit.Changed ? status : StatusCodes.Status200OK).ConfigureAwait(false);
    }

    internal static string Describe(string kind, string name) => kind == ResourceKinds.Gateway ? "The gateway section" : $"{kind} '{name}'";

    private static AdminProblem PreconditionFailed(string kind, string name, StoredResource? existing) => new(
        StatusCodes.Status412PreconditionFailed,
        "precondition-failed",
        "Precondition failed",
        existing is null
            ? $"If-Match was given but {Describe(kind, name)} does not exist; send the request without If-Match to create it."
            : $"{Describe(kind, name)} changed since you read it (its ETag is now {ETags.Of(existing)}); GET it again, re-apply your change and send it with the new ETag.");
}
