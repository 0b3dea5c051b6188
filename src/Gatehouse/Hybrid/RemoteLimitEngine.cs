using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Model.Limits;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// A hybrid data node's counter engine for limits with <c>scope: cluster</c> (<c>--cluster-limits</c>): the control
/// plane's, through the node API (<c>POST /node/v1/limits/reserve|add|heartbeat</c>), so the node counts in the same
/// counters as every other node of the deployment. The gateway's cluster limiter calls it once per lease or from its
/// sync loop, never per request; any failure (the control plane away, or without an engine) is an exception, and the
/// limiter uses each limit's <c>onEngineDown</c> (by default the node's share) until a call succeeds again.
/// </summary>
internal sealed class RemoteLimitEngine(HttpClient http, Uri controlPlane) : ILimitEngine
{
    // The limiter stops waiting at gateway.limits.timeout; this bounds the call itself, so calls to a control plane that
    // does not answer do not pile up behind it.
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(5);

    public string Name => "control-plane";

    public async Task<LeaseGrant> ReserveAsync(string key, uint window, long want, long limit, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        var answer = await PostAsync("node/v1/limits/reserve",
            new JsonObject { ["key"] = key, ["window"] = window, ["want"] = want, ["limit"] = limit, ["expires"] = expires }, cancellationToken).ConfigureAwait(false);
        return new LeaseGrant((long)answer["granted"]!, (long)answer["total"]!);
    }

    // In posts of at most the node API's limit per add: a node with more counters active in a round (request limits and
    // token budgets of many applications) would otherwise have every round refused, and its limits stuck on onEngineDown.
    public async Task<long[]> AddAsync(IReadOnlyList<CounterDelta> deltas, CancellationToken cancellationToken)
    {
        var totals = new List<long>(deltas.Count);
        for (var start = 0; start < deltas.Count; start += Management.Nodes.NodeApi.MaxDeltas)
        {
            var items = new JsonArray();
            for (var i = start; i < Math.Min(deltas.Count, start + Management.Nodes.NodeApi.MaxDeltas); i++)
            {
                items.Add(new JsonObject { ["key"] = deltas[i].Key, ["window"] = deltas[i].Window, ["delta"] = deltas[i].Delta, ["expires"] = deltas[i].Expires });
            }

            var answer = await PostAsync("node/v1/limits/add", new JsonObject { ["deltas"] = items }, cancellationToken).ConfigureAwait(false);
            totals.AddRange(answer["totals"]!.AsArray().Select(t => (long)t!));
        }

        return totals.Count == deltas.Count ? [.. totals] : throw new InvalidOperationException($"The control plane answered {totals.Count} totals for {deltas.Count} counters.");
    }

    public async Task<int> HeartbeatAsync(string node, DateTimeOffset now, CancellationToken cancellationToken)
    {
        // The control plane records the node its token is bound to (the same --node-id).
        var answer = await PostAsync("node/v1/limits/heartbeat", new JsonObject(), cancellationToken).ConfigureAwait(false);
        return (int)answer["nodes"]!;
    }

    private async Task<JsonObject> PostAsync(string path, JsonObject body, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(controlPlane, path), content, timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            var problem = await response.Content.ReadAsStringAsync(timeout.Token).ConfigureAwait(false);
            var detail = (string?)(JsonNode.Parse(problem.Length > 0 && problem[0] == '{' ? problem : "{}")?["detail"]) ?? problem;
            throw new HttpRequestException($"the control plane answered {(int)response.StatusCode}: {detail}", null, response.StatusCode);
        }

        return (await response.Content.ReadFromJsonAsync<JsonObject>(timeout.Token).ConfigureAwait(false))!;
    }
}
