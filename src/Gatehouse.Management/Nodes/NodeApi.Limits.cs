using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Gatehouse.Management.Admin;
using Gatehouse.Model.Limits;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Nodes;

// The control plane's counter engine, lent to hybrid data nodes for their limits with scope: cluster (docs/limits.md,
// docs/nodes.md): the same three atomic steps a store-backed node calls on PostgreSQL, one HTTP call each, so hybrid
// nodes and store-backed nodes of one deployment count in the same counters. A node calls it once per lease (strict)
// or from its sync loop (fast), never once per request; when the call fails, the node's onEngineDown applies.
public sealed partial class NodeApi
{
    private const int MaxCounterKey = 512;
    internal const int MaxDeltas = 10_000;

    private static void MapLimits(WebApplication app, NodeApiOptions options, ConcurrentDictionary<string, string> bindings)
    {
        app.MapPost("/node/v1/limits/reserve", context => LimitsAsync(context, options, bindings, ReserveAsync));
        app.MapPost("/node/v1/limits/add", context => LimitsAsync(context, options, bindings, AddAsync));
        app.MapPost("/node/v1/limits/heartbeat", context => LimitsAsync(context, options, bindings, HeartbeatAsync));
    }

    private static async Task LimitsAsync(
        HttpContext context, NodeApiOptions options, ConcurrentDictionary<string, string> bindings,
        Func<ILimitEngine, JsonObject, string, CancellationToken, Task<(JsonNode? Answer, string? Bad)>> step)
    {
        if (await AuthenticateAsync(context, options, bindings).ConfigureAwait(false) is not { } who)
        {
            return;
        }

        if (options.LimitEngine is not { } engine)
        {
            await new AdminProblem(StatusCodes.Status503ServiceUnavailable, "node-no-limit-engine", "No counter engine",
                "This control plane has no counter engine for cluster limits (it needs --store postgres://…); the node counts with its limits' onEngineDown. Run the control plane on PostgreSQL, or give the nodes gateway.limits.redis.")
                .WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, 4 * 1024 * 1024).ConfigureAwait(false);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        (JsonNode? Answer, string? Bad) result;
        try
        {
            result = await step(engine, body!, who.Node, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException and not OutOfMemoryException)
        {
            // The engine (the store) is down: the node's limits fall back as they would with the store out of reach.
            options.Health.Failed(e);
            await new AdminProblem(StatusCodes.Status503ServiceUnavailable, "node-limit-engine-down", "Counter engine unreachable",
                $"The control plane's counter engine did not answer ({Stores.StoreHealth.Reason(e)}); the node counts with its limits' onEngineDown meanwhile.")
                .WriteAsync(context).ConfigureAwait(false);
            return;
        }

        if (result.Bad is { } bad)
        {
            await AdminRequests.BadParameter(bad).WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, result.Answer!).ConfigureAwait(false);
    }

    // {"key","window","want","limit","expires"} -> {"granted","total"}
    private static async Task<(JsonNode?, string?)> ReserveAsync(ILimitEngine engine, JsonObject body, string node, CancellationToken ct)
    {
        if (Key(body) is not { } key || Number(body, "window") is not { } window || window > uint.MaxValue
            || Number(body, "want") is not { } want || want < 1 || Number(body, "limit") is not { } limit
            || Time(body) is not { } expires)
        {
            return (null, "A reserve is {\"key\": counter key (1 to 512 characters), \"window\": N, \"want\": 1 or more, \"limit\": N, \"expires\": time}.");
        }

        var grant = await engine.ReserveAsync(key, (uint)window, want, limit, expires, ct).ConfigureAwait(false);
        return (new JsonObject { ["granted"] = grant.Granted, ["total"] = grant.Total }, null);
    }

    // {"deltas":[{"key","window","delta","expires"}]} -> {"totals":[...]}; a delta is what was counted, never negative.
    private static async Task<(JsonNode?, string?)> AddAsync(ILimitEngine engine, JsonObject body, string node, CancellationToken ct)
    {
        const string Shape = "An add is {\"deltas\": [{\"key\": counter key, \"window\": N, \"delta\": 0 or more, \"expires\": time}, …]} (at most 10000).";
        if (body["deltas"] is not JsonArray items || items.Count > MaxDeltas)
        {
            return (null, Shape);
        }

        var deltas = new CounterDelta[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not JsonObject item || Key(item) is not { } key || Number(item, "window") is not { } window || window > uint.MaxValue
                || Number(item, "delta") is not { } delta || Time(item) is not { } expires)
            {
                return (null, $"deltas[{i}]: " + Shape);
            }

            deltas[i] = new CounterDelta(key, (uint)window, delta, expires);
        }

        var totals = await engine.AddAsync(deltas, ct).ConfigureAwait(false);
        return (new JsonObject { ["totals"] = new JsonArray([.. totals.Select(t => (JsonNode)t)]) }, null);
    }

    // The node is the one its token is bound to, whatever the body says. -> {"nodes": N}
    private static async Task<(JsonNode?, string?)> HeartbeatAsync(ILimitEngine engine, JsonObject body, string node, CancellationToken ct)
    {
        var nodes = await engine.HeartbeatAsync(node, DateTimeOffset.UtcNow, ct).ConfigureAwait(false);
        return (new JsonObject { ["nodes"] = nodes }, null);
    }

    private static string? Key(JsonObject body) =>
        body["key"] is JsonValue value && value.TryGetValue<string>(out var key) && key.Length is > 0 and <= MaxCounterKey ? key : null;

    private static long? Number(JsonObject body, string name) =>
        body[name] is JsonValue value && value.TryGetValue<long>(out var number) && number >= 0 ? number : null;

    private static DateTimeOffset? Time(JsonObject body) =>
        body["expires"] is JsonValue value && value.TryGetValue<DateTimeOffset>(out var at) ? at : null;
}
