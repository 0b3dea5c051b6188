using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Admin;

/// <summary>Revisions (list, the config at one, diff, rollback) and the audit trail.</summary>
internal static class RevisionEndpoints
{
    public static void Map(IEndpointRouteBuilder app, ConfigChanges changes)
    {
        app.MapGet("/admin/revisions", context => ListAsync(context, changes.Store));
        app.MapGet("/admin/revisions/{n:long}", context => GetAsync(context, changes.Store, Number(context, "n")));
        app.MapGet("/admin/revisions/{a:long}/diff/{b:long}", context => DiffAsync(context, changes.Store, Number(context, "a"), Number(context, "b")));
        app.MapPost("/admin/revisions/{n:long}/rollback", context => RollbackAsync(context, changes, Number(context, "n")));
        app.MapGet("/admin/audit", context => AuditAsync(context, changes.Store));
    }

    private static long Number(HttpContext context, string name) =>
        long.Parse((string)context.Request.RouteValues[name]!, System.Globalization.CultureInfo.InvariantCulture);

    private static async Task ListAsync(HttpContext context, IConfigStore store)
    {
        var (limit, problem) = AdminRequests.Limit(context);
        var (before, problem2) = AdminRequests.Before(context);
        if ((problem ?? problem2) is { } refused)
        {
            await refused.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var page = await store.ListRevisionsAsync(before, limit + 1, context.RequestAborted).ConfigureAwait(false);
        var items = new JsonArray();
        foreach (var revision in page.Take(limit))
        {
            items.Add(new JsonObject
            {
                ["revision"] = revision.Number,
                ["createdAt"] = revision.CreatedAt,
                ["actor"] = revision.Actor,
                ["summary"] = revision.Summary,
            });
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject
        {
            ["items"] = items,
            ["next"] = page.Count > limit ? page[limit - 1].Number : null,
        }).ConfigureAwait(false);
    }

    private static async Task GetAsync(HttpContext context, IConfigStore store, long n)
    {
        if (!await ExistsAsync(store, n, context).ConfigureAwait(false))
        {
            await AdminProblem.NotFound($"Revision {n}").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        if (await PrunedAsync(store, n, context).ConfigureAwait(false) is { } pruned)
        {
            await pruned.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var (_, document) = await StoreConfig.ComposeAsync(store, n, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers["Gatehouse-Revision"] = n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        await context.Response.WriteAsync(document, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task DiffAsync(HttpContext context, IConfigStore store, long a, long b)
    {
        foreach (var n in (long[])[a, b])
        {
            if (n != 0 && !await ExistsAsync(store, n, context).ConfigureAwait(false))
            {
                await AdminProblem.NotFound($"Revision {n}").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            if (await PrunedAsync(store, n, context).ConfigureAwait(false) is { } pruned)
            {
                await pruned.WriteAsync(context).ConfigureAwait(false);
                return;
            }
        }

        var diff = await store.DiffAsync(a, b, context.RequestAborted).ConfigureAwait(false);
        var changes = new JsonArray();
        foreach (var d in diff)
        {
            changes.Add(new JsonObject
            {
                ["kind"] = d.Kind,
                ["name"] = d.Name,
                ["change"] = d.Change.ToString().ToLowerInvariant(),
                ["before"] = AdminRequests.Json(d.Before),
                ["after"] = AdminRequests.Json(d.After),
            });
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["from"] = a, ["to"] = b, ["changes"] = changes }).ConfigureAwait(false);
    }

    private static async Task RollbackAsync(HttpContext context, ConfigChanges changes, long n)
    {
        if (await PrunedAsync(changes.Store, n, context).ConfigureAwait(false) is { } pruned)
        {
            await pruned.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var outcome = await changes.RollbackAsync(n, AdminCaller.Actor(context), context.RequestAborted).ConfigureAwait(false);
        if (outcome.Problem is not null)
        {
            await outcome.Problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject
        {
            ["revision"] = outcome.Commit!.Revision,
            ["changed"] = outcome.Commit.Changed,
            ["rolledBackTo"] = n,
            ["applied"] = outcome.ApplyErrors.Count == 0,
        }).ConfigureAwait(false);
    }

    private static async Task AuditAsync(HttpContext context, IConfigStore store)
    {
        var (limit, problem) = AdminRequests.Limit(context);
        var (before, problem2) = AdminRequests.Before(context);
        if ((problem ?? problem2) is { } refused)
        {
            await refused.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var page = await store.ListAuditAsync(before, limit + 1, context.RequestAborted).ConfigureAwait(false);
        var items = new JsonArray();
        foreach (var entry in page.Take(limit))
        {
            items.Add(new JsonObject
            {
                ["id"] = entry.Id,
                ["at"] = entry.At,
                ["actor"] = entry.Actor,
                ["action"] = entry.Action,
                ["kind"] = entry.Kind,
                ["name"] = entry.Name,
                ["revision"] = entry.Revision,
                ["before"] = AdminRequests.Json(entry.Before),
                ["after"] = AdminRequests.Json(entry.After),
            });
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject
        {
            ["items"] = items,
            ["next"] = page.Count > limit ? page[limit - 1].Id : null,
        }).ConfigureAwait(false);
    }

    /// <summary>410 <c>revision-pruned</c> for a revision older than the store keeps (<c>gatehouse prune</c>); null otherwise.</summary>
    internal static async Task<AdminProblem?> PrunedAsync(IConfigStore store, long n, HttpContext context) =>
        n != 0 && await store.OldestRevisionAsync(context.RequestAborted).ConfigureAwait(false) is var oldest && n < oldest
            ? new AdminProblem(StatusCodes.Status410Gone, "revision-pruned", "Revision pruned",
                $"Revision {n} was pruned from the store's history; it keeps revisions {oldest} and later (GET /admin/revisions lists them).")
            : null;

    private static async Task<bool> ExistsAsync(IConfigStore store, long n, HttpContext context) =>
        n >= 1 && n <= await store.CurrentRevisionAsync(context.RequestAborted).ConfigureAwait(false);
}
