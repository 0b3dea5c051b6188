using System.Diagnostics.Metrics;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// <c>gatehouse.node.batches</c> (<c>gatehouse_node_batches_total</c> on <c>/metrics</c>): the signed consumer batches,
/// registration sets and cache purge batches a hybrid node fetched, taken or refused, as <c>gatehouse.config.reloads</c> counts its
/// snapshots. A refused batch changes nothing on the node, so without this an operator saw a node that stopped taking new
/// keys only in its log and its row of <c>GET /admin/nodes</c>; an alert on refusals sees tampering on every feed.
/// </summary>
internal static class NodeBatchMetrics
{
    /// <summary>The <c>feed</c> of portal applications and their key hashes (<see cref="ConsumerFeed"/>).</summary>
    public const string Consumers = "consumers";

    /// <summary>The <c>feed</c> of self-registered targets (<see cref="RegistrationFeed"/>).</summary>
    public const string Registrations = "registrations";

    /// <summary>The <c>feed</c> of purges of the response cache (<see cref="CachePurgeFeed"/>).</summary>
    public const string CachePurges = "cache_purges";

    private static readonly Counter<long> Batches = Gateway.Observability.GatewayMetrics.Instance.CreateCounter<long>("gatehouse.node.batches", "{batch}",
        "Signed consumer batches, registration sets and cache purge batches a hybrid node fetched, by feed (consumers, registrations, cache_purges) and outcome (applied, refused), refusals by reason (bad_signature, unknown_key, malformed, rollback, gap)");

    /// <summary>Counts a batch of <paramref name="feed"/> the node took.</summary>
    public static void Applied(string feed)
    {
        if (Batches.Enabled)
        {
            Batches.Add(1, new KeyValuePair<string, object?>("feed", feed), new KeyValuePair<string, object?>("outcome", "applied"));
        }
    }

    /// <summary>Counts a batch of <paramref name="feed"/> the node refused, under the label of its refusal's <paramref name="code"/>.</summary>
    public static void Refused(string feed, string code)
    {
        if (Batches.Enabled)
        {
            Batches.Add(1, new KeyValuePair<string, object?>("feed", feed), new KeyValuePair<string, object?>("outcome", "refused"),
                new KeyValuePair<string, object?>("reason", Reason(code)));
        }
    }

    /// <summary>
    /// The label of a refusal's code: a fixed set whatever codes a refusal may come to have (anything not named is
    /// <c>malformed</c>), so the series stay bounded. Config snapshots use the same labels
    /// (<c>gatehouse.config.reloads</c>).
    /// </summary>
    public static string Reason(string code) => code switch
    {
        "bad-signature" => "bad_signature",
        "unknown-key" => "unknown_key",
        "rollback" => "rollback",
        "gap" => "gap",
        _ => "malformed",
    };
}
