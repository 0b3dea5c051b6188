using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Nodes;

// The store's log of cache purges (cache_purges, which the nodes sharing the store follow through CachePurgeBroadcast),
// carried to and from hybrid data nodes: a purge through any admin API, or an unsafe request's invalidation on any node,
// reaches a hybrid node's memory cache; a hybrid node's invalidations reach every other node. The batches handed out are
// signed: one forged could make a node drop its answers, or keep ones the others dropped by skipping purges.
public sealed partial class NodeApi
{
    /// <summary>The most purges in one batch, either way (a node behind reads on at once).</summary>
    internal const int MaxCachePurges = 512;

    private static void MapCachePurges(WebApplication app, NodeApiOptions options, ConcurrentDictionary<string, string> bindings, ICachePurgeStore store, RevisionWatch watch)
    {
        app.MapGet("/node/v1/cache-purges", context => ReadCachePurgesAsync(context, options, bindings, store, watch));
        app.MapPost("/node/v1/cache-purges", context => AddCachePurgesAsync(context, options, bindings, store, watch));
    }

    // No 'after': where the log is now (a node's first ask: its memory cache holds nothing older). 'after=N': the purges
    // after N but the node's own, waiting for one when there is none yet.
    private static async Task ReadCachePurgesAsync(HttpContext context, NodeApiOptions options, ConcurrentDictionary<string, string> bindings, ICachePurgeStore store, RevisionWatch watch)
    {
        if (await AuthenticateAsync(context, options, bindings).ConfigureAwait(false) is not { } who)
        {
            return;
        }

        var afterText = context.Request.Query["after"].ToString();
        CachePurgeBatch batch;
        if (afterText.Length == 0)
        {
            var newest = await store.NewestCachePurgeAsync(context.RequestAborted).ConfigureAwait(false);
            batch = new CachePurgeBatch(who.Node, newest, newest, Start: true, Missed: false, DateTimeOffset.UtcNow, []);
        }
        else if (!long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out var after))
        {
            await AdminRequests.BadParameter($"'after' must be a cache purge number (0 or more), not '{afterText}'.").WriteAsync(context).ConfigureAwait(false);
            return;
        }
        else if (await watch.WaitNewerAsync(after, options.LongPoll, context.RequestAborted).ConfigureAwait(false) <= after)
        {
            // The watch may lag the store by one poll. A node ahead of the store (restored from a backup, another store)
            // cannot tell which purges it will not hear of: it drops every answer and follows the store from here.
            var newest = await store.NewestCachePurgeAsync(context.RequestAborted).ConfigureAwait(false);
            if (newest >= after)
            {
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }

            batch = new CachePurgeBatch(who.Node, after, newest, Start: false, Missed: true, DateTimeOffset.UtcNow, []);
        }
        else
        {
            var (purges, oldest) = await store.ReadCachePurgesAsync(after, MaxCachePurges, context.RequestAborted).ConfigureAwait(false);
            if (purges.Count == 0)
            {
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }

            // The node's own are left out: it dropped those answers before it sent them.
            var others = purges.Where(p => p.Node != who.Node).Select(p => (p.Route, p.Path)).ToList();
            batch = new CachePurgeBatch(who.Node, after, purges[^1].Seq, Start: false, Missed: oldest > after + 1, DateTimeOffset.UtcNow, others);
        }

        context.Response.ContentType = "application/json";
        context.Response.Headers["Gatehouse-Cache-Purge-Seq"] = batch.Seq.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.Body.WriteAsync(batch.Sign(options.Signer.Key), context.RequestAborted).ConfigureAwait(false);
    }

    // {"purges":[{"route","path"}]}: a hybrid node's invalidations, recorded under its node id for every other node.
    private static async Task AddCachePurgesAsync(HttpContext context, NodeApiOptions options, ConcurrentDictionary<string, string> bindings, ICachePurgeStore store, RevisionWatch watch)
    {
        if (await AuthenticateAsync(context, options, bindings).ConfigureAwait(false) is not { } who)
        {
            return;
        }

        var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, 1024 * 1024, objectIs: "a batch of cache purges", limitOf: "the node API's limit for one batch").ConfigureAwait(false);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var purges = new List<(string Route, string? Path)>();
        if (body!["purges"] is not JsonArray items || items.Count is 0 or > MaxCachePurges)
        {
            await AdminRequests.BadParameter($"The body must be {{\"purges\": [{{\"route\": ID, \"path\": \"/…\"}}, …]}}: 1 to {MaxCachePurges} purges.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        foreach (var item in items)
        {
            string? route = null;
            string? path = null;
            if (item is not JsonObject purge
                || purge["route"] is not JsonValue routeValue || !routeValue.TryGetValue(out route) || route.Length == 0
                || (purge["path"] is { } pathNode && (pathNode is not JsonValue pathValue || !pathValue.TryGetValue(out path) || !path.StartsWith('/'))))
            {
                await AdminRequests.BadParameter("Each purge is {\"route\": ID} (every answer of the route) or {\"route\": ID, \"path\": \"/…\"} (a request path, decoded, starting with '/').").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            purges.Add((route!, path));
        }

        await store.AddCachePurgesAsync(who.Node, purges, ICachePurgeStore.Keep, context.RequestAborted).ConfigureAwait(false);
        // The other hybrid nodes' long polls hear of it at once; the nodes of the store read the log themselves.
        watch.Raise();
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }
}
