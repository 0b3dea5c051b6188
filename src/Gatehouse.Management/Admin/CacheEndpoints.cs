using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Admin;

/// <summary>
/// <c>POST /admin/cache/purge</c> (issue 23): drops the gateway's cached responses of a route, or of one request path
/// of it, at once. With a cache in each node's memory the node whose admin API took it drops its answers and records the
/// purge in the store for the other nodes (<c>CachePurgeBroadcast</c>; a control plane only records it, and answers
/// <c>purged</c> null); with the shared cache (<c>gateway.cache.redis</c>) it reaches every node, and <c>purged</c> is
/// null (not counted).
/// </summary>
internal static class CacheEndpoints
{
    public static void Map(IEndpointRouteBuilder app, AdminApiOptions options) =>
        app.MapPost("/admin/cache/purge", async context =>
        {
            var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
            if (problem is not null)
            {
                await problem.WriteAsync(context).ConfigureAwait(false);
                return;
            }

            if (body?["route"] is not JsonValue routeValue || !routeValue.TryGetValue<string>(out var route) || route.Length == 0)
            {
                await AdminRequests.BadParameter("Name the route whose cached responses to drop: { \"route\": \"products-get\" }, and optionally one request path: \"path\": \"/products/3\".")
                    .WriteAsync(context).ConfigureAwait(false);
                return;
            }

            string? path = null;
            if (body["path"] is { } pathNode)
            {
                if (pathNode is not JsonValue pathValue || !pathValue.TryGetValue<string>(out path) || !path.StartsWith('/'))
                {
                    await AdminRequests.BadParameter("'path' is a request path starting with '/', as clients send it (decoded), e.g. \"/products/3\".").WriteAsync(context).ConfigureAwait(false);
                    return;
                }
            }

            if (options.PurgeCache is not { } purge)
            {
                await new AdminProblem(StatusCodes.Status503ServiceUnavailable, "no-gateway", "No gateway here",
                    "This admin API runs without a gateway beside it, so there is no cache to purge; send the purge to a node that serves traffic.").WriteAsync(context).ConfigureAwait(false);
                return;
            }

            int? purged;
            try
            {
                purged = await purge(route, path, context.RequestAborted).ConfigureAwait(false);
            }
            catch (InvalidOperationException e)
            {
                await new AdminProblem(StatusCodes.Status503ServiceUnavailable, "cache-store-down", "Cache store unreachable", e.Message).WriteAsync(context).ConfigureAwait(false);
                return;
            }

            await AdminRequests.WriteJsonAsync(context, new JsonObject { ["route"] = route, ["path"] = path, ["purged"] = purged }).ConfigureAwait(false);
        });
}
