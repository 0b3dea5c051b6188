namespace Gatehouse.Model.Usage;

/// <summary>One request rollup row as the store keeps it: one node's totals for one <see cref="UsageKey"/> in one time bucket.</summary>
public sealed record UsageRow : RollupRow
{
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
