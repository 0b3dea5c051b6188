using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Stores;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Management.Nodes;

/// <summary>
/// <c>GET /admin/nodes</c>: every gateway node that reported to the store, with the revision it serves.
/// <c>DELETE /admin/nodes/{id}</c>: forgets a stale node (one that stopped reporting); a live one is refused.
/// </summary>
internal static partial class NodeEndpoints
{
    public static void Map(IEndpointRouteBuilder app, AdminApiOptions options)
    {
        app.MapGet("/admin/nodes", context => ListAsync(context, options));
        app.MapDelete("/admin/nodes/{id}", context => DeleteAsync(context, options, (string)context.Request.RouteValues["id"]!));
        app.MapGet("/admin/node-tokens", ListTokensAsync);
        app.MapPost("/admin/node-tokens", context => IssueTokenAsync(context, options));
        app.MapDelete("/admin/node-tokens/{name}", context => RevokeTokenAsync(context, options, (string)context.Request.RouteValues["name"]!));

        async Task ListTokensAsync(HttpContext context)
        {
            var items = new JsonArray();
            foreach (var token in await options.Store.ListNodeTokensAsync(context.RequestAborted).ConfigureAwait(false))
            {
                items.Add(new JsonObject { ["name"] = token.Name, ["createdAt"] = token.CreatedAt, ["node"] = token.Node });
            }

            await AdminRequests.WriteJsonAsync(context, new JsonObject { ["items"] = items }).ConfigureAwait(false);
        }
    }

    // A node token is shown once, here; the store keeps its SHA-256. Issuing a name again replaces (rotates) its token. It
    // is bound to one node id: "node" when given, else the first id that uses it (the node API refuses any other).
    private static async Task IssueTokenAsync(HttpContext context, AdminApiOptions options)
    {
        var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, options.MaxBodySize).ConfigureAwait(false);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var name = body!["name"] is JsonValue value && value.TryGetValue<string>(out var text) ? text : null;
        if (name is null || !TokenName().IsMatch(name))
        {
            await AdminRequests.BadParameter("'name' is required: 1 to 100 letters, digits, '.', '_' or '-' (one token per data node).").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        string? node = null;
        if (body["node"] is { } nodeValue && (nodeValue is not JsonValue v || !v.TryGetValue(out node) || !NodeId().IsMatch(node)))
        {
            await AdminRequests.BadParameter("'node', when given, is the node id the token is for (its --node-id): 1 to 100 letters, digits, '.', '_', ':' or '-'. Without it, the token binds to the first node id that uses it.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var token = NodeTokenPrefix + Base64Url(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        await options.Store.SetNodeTokenAsync(name, Model.Access.ApiKeyHash.Sha256Hex(token), node, context.RequestAborted).ConfigureAwait(false);
        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["name"] = name, ["token"] = token, ["node"] = node }, StatusCodes.Status201Created).ConfigureAwait(false);
    }

    private static async Task RevokeTokenAsync(HttpContext context, AdminApiOptions options, string name)
    {
        if (!await options.Store.DeleteNodeTokenAsync(name, context.RequestAborted).ConfigureAwait(false))
        {
            await AdminProblem.NotFound($"Node token '{name}'").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    /// <summary>What every node token starts with.</summary>
    public const string NodeTokenPrefix = "ghn_";

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The names of node tokens and of named admin tokens: 1 to 100 letters, digits, '.', '_' or '-'.</summary>
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9._-]{1,100}$")]
    internal static partial System.Text.RegularExpressions.Regex TokenName();

    // The node API's rule for the Gatehouse-Node header.
    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9._:-]{1,100}$")]
    private static partial System.Text.RegularExpressions.Regex NodeId();

    private static async Task DeleteAsync(HttpContext context, AdminApiOptions options, string id)
    {
        var node = (await options.Store.ListNodesAsync(context.RequestAborted).ConfigureAwait(false)).FirstOrDefault(n => n.Id == id);
        if (node is null)
        {
            await AdminProblem.NotFound($"Node '{id}'").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        // A live node would write its row again at its next heartbeat, so removing it would only hide it for a while.
        if (!IsStale(node, options))
        {
            await new AdminProblem(
                StatusCodes.Status409Conflict,
                "node-live",
                "Node is live",
                $"Node '{id}' reported at {node.LastSeen:u}, so it is running; stop it first. Only stale nodes (no report for {NodeReporter.StaleAfterIntervals} heartbeats) are removed.")
                .WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var removed = await options.Store.DeleteNodeAsync(id, context.RequestAborted).ConfigureAwait(false);
        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["id"] = id, ["removed"] = removed }).ConfigureAwait(false);
    }

    private static bool IsStale(NodeInfo node, AdminApiOptions options) =>
        options.Time.GetUtcNow() - node.LastSeen > options.NodeInterval * NodeReporter.StaleAfterIntervals;

    private static async Task ListAsync(HttpContext context, AdminApiOptions options)
    {
        var nodes = await options.Store.ListNodesAsync(context.RequestAborted).ConfigureAwait(false);
        var current = await options.Store.CurrentRevisionAsync(context.RequestAborted).ConfigureAwait(false);
        var items = new JsonArray();
        foreach (var node in nodes)
        {
            var item = new JsonObject
            {
                ["id"] = node.Id,
                ["revision"] = node.Revision,
                ["lastSeen"] = node.LastSeen,
                ["stale"] = IsStale(node, options),
                ["info"] = Parse(node.Info),
            };
            if (node.Instance is not null)
            {
                item["instance"] = node.Instance;
            }

            if (LiveClash(node, options.Time.GetUtcNow(), options.NodeInterval * NodeReporter.StaleAfterIntervals) is { } clash)
            {
                item["clash"] = clash;
            }

            items.Add(item);
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["revision"] = current, ["items"] = items }).ConfigureAwait(false);
    }

    /// <summary>
    /// The other process that runs under <paramref name="node"/>'s id (<see cref="NodeInfo.Clash"/>), while it still says
    /// so (noted within <paramref name="live"/>): <c>{"instance","host","pid","at"}</c>; null when there is none.
    /// </summary>
    internal static JsonObject? LiveClash(NodeInfo node, DateTimeOffset now, TimeSpan live) =>
        node.Clash is { } text && Parse(text) is JsonObject clash && clash["at"] is JsonValue at && at.TryGetValue<DateTimeOffset>(out var noted) && now - noted <= live
            ? clash
            : null;

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
