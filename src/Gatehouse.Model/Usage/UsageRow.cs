namespace Gatehouse.Model.Usage;

/// <summary>
/// One rollup row as the store keeps it: one node's totals for one <see cref="UsageKey"/> in one time bucket.
/// A node is the only writer of its own rows, so it writes whole values (not increments) and a cluster's totals are the sum
/// over nodes.
/// </summary>
public sealed record UsageRow
{
    public required UsageGranularity Granularity { get; init; }

    /// <summary>The bucket's start, Unix seconds (UTC).</summary>
    public required long Bucket { get; init; }

    public required string Node { get; init; }

    public required UsageKey Key { get; init; }

    public required long Count { get; init; }

    public long BytesIn { get; init; }

    public long BytesOut { get; init; }

    /// <summary>The sum of every request's latency, microseconds (for the mean).</summary>
    public long LatencySumMicros { get; init; }

    /// <summary>Composition steps run (0 for proxied requests).</summary>
    public long Steps { get; init; }

    public required LatencyHistogram Histogram { get; init; }
}
