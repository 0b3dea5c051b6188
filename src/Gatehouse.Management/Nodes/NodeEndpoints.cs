using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Nodes;

/// <summary><c>GET /admin/nodes</c>: every gateway node that reported to the store, with the revision it serves.</summary>
internal static class NodeEndpoints
{
    public static void Map(IEndpointRouteBuilder app, AdminApiOptions options) =>
        app.MapGet("/admin/nodes", context => ListAsync(context, options));

    private static async Task ListAsync(HttpContext context, AdminApiOptions options)
    {
        var nodes = await options.Store.ListNodesAsync(context.RequestAborted).ConfigureAwait(false);
        var current = await options.Store.CurrentRevisionAsync(context.RequestAborted).ConfigureAwait(false);
        var now = options.Time.GetUtcNow();
        var staleAfter = options.NodeInterval * NodeReporter.StaleAfterIntervals;
        var items = new JsonArray();
        foreach (var node in nodes)
        {
            items.Add(new JsonObject
            {
                ["id"] = node.Id,
                ["revision"] = node.Revision,
                ["lastSeen"] = node.LastSeen,
                ["stale"] = now - node.LastSeen > staleAfter,
                ["info"] = Parse(node.Info),
            });
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["revision"] = current, ["items"] = items }).ConfigureAwait(false);
    }

    // Info is free-form; a node written by something else may have put plain text there.
    private static JsonNode? Parse(string info)
    {
        try
        {
            return JsonNode.Parse(info);
        }
        catch (System.Text.Json.JsonException)
        {
            return info;
        }
    }
}
