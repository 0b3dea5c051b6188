namespace Gatehouse.Model.Usage;

/// <summary>
/// What every rollup row the store keeps has (<see cref="UsageRow"/> for requests, <see cref="AiUsageRow"/> for model
/// calls): one node's totals in one time bucket. A node is the only writer of its own rows and writes whole values (not
/// increments), so a cluster's totals are the sum over nodes.
/// </summary>
public abstract record RollupRow
{
    public required UsageGranularity Granularity { get; init; }

    /// <summary>The bucket's start, Unix seconds (UTC).</summary>
    public required long Bucket { get; init; }

    public required string Node { get; init; }
}
