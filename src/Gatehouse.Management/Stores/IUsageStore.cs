using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Stores;

/// <summary>
/// The usage rollups of a store: what gateway nodes write (<see cref="IUsageSink"/>) and what analytics read. Every
/// <see cref="IConfigStore"/> that <see cref="ConfigStores.OpenAsync"/> returns is one.
/// </summary>
public interface IUsageStore : IUsageSink, IAiUsageSink
{
    /// <summary>
    /// The model-usage rows of <paramref name="query"/> added up in the database by <paramref name="groupBy"/>
    /// (<c>application</c>, <c>plan</c>, <c>alias</c>, <c>provider</c>, <c>model</c>, <c>node</c>), and by bucket when
    /// <paramref name="byBucket"/>. Groups without calls are left out.
    /// </summary>
    Task<IReadOnlyList<AiUsageAggregate>> AggregateAiUsageAsync(AiUsageQuery query, IReadOnlyList<string> groupBy, bool byBucket, CancellationToken cancellationToken = default);

    /// <summary>Every row of <paramref name="query"/>'s granularity, time range and filters, in no particular order.</summary>
    Task<IReadOnlyList<UsageRow>> ReadUsageAsync(UsageRowQuery query, CancellationToken cancellationToken = default);

    /// <summary>
    /// The rows of <paramref name="query"/> added up in the database by the dimensions <paramref name="groupBy"/>
    /// (<c>application</c>, <c>plan</c>, <c>operation</c>, <c>node</c>, <c>status</c>, <c>statusClass</c>), and by bucket when
    /// <paramref name="byBucket"/>; only the groups in <paramref name="onlyGroups"/> when given (values in
    /// <paramref name="groupBy"/>'s order). With <paramref name="histograms"/>, each result also has its merged histogram
    /// (the rows' histograms are read and merged here, which costs more). With <paramref name="countsOnly"/> (to rank
    /// groups), only <c>Count</c> is added up and the other sums are 0: an index of (application, bucket, status, count)
    /// then answers it without reading the rows.
    /// </summary>
    Task<IReadOnlyList<UsageAggregate>> AggregateUsageAsync(
        UsageRowQuery query, IReadOnlyList<string> groupBy, bool byBucket, bool histograms, IReadOnlyList<string[]>? onlyGroups = null, CancellationToken cancellationToken = default, bool countsOnly = false);
}

/// <summary>Rollup rows added up: one group's totals, in one bucket or (with <see cref="Bucket"/> 0) over the whole range.</summary>
public sealed record UsageAggregate(long Bucket, string[] Group, long Count, long Errors, long ClientErrors, long BytesIn, long BytesOut, long LatencySumMicros)
{
    /// <summary>The merged latency histogram, when it was asked for.</summary>
    public LatencyHistogram? Histogram { get; init; }
}

/// <summary>
/// Which rollup rows to read: buckets from <see cref="From"/> (inclusive) to <see cref="To"/> (exclusive), Unix seconds.
/// <see cref="AllApplications"/> reads the rows that add up every application instead of the per-application ones. A filter
/// column (application, plan, operation, node, status) with values keeps only rows with one of them.
/// </summary>
public sealed record UsageRowQuery(UsageGranularity Granularity, long From, long To, bool AllApplications)
{
    public IReadOnlyList<string>? Applications { get; init; }

    public IReadOnlyList<string>? Plans { get; init; }

    public IReadOnlyList<string>? Operations { get; init; }

    public IReadOnlyList<string>? Nodes { get; init; }

    public IReadOnlyList<int>? Statuses { get; init; }

    /// <summary>Status classes kept: 2 for 2xx, 5 for 5xx.</summary>
    public IReadOnlyList<int>? StatusClasses { get; init; }
}

/// <summary>Model-usage rows added up: one group's totals, in one bucket or (with <see cref="Bucket"/> 0) over the whole range.</summary>
public sealed record AiUsageAggregate(long Bucket, string[] Group, long Calls, long PromptTokens, long CompletionTokens, long EstimatedCalls, long CostNanos);

/// <summary>
/// Which model-usage rows to read: buckets from <see cref="From"/> (inclusive) to <see cref="To"/> (exclusive), Unix seconds.
/// A filter with values keeps only rows with one of them.
/// </summary>
public sealed record AiUsageQuery(UsageGranularity Granularity, long From, long To)
{
    public IReadOnlyList<string>? Applications { get; init; }

    public IReadOnlyList<string>? Plans { get; init; }

    public IReadOnlyList<string>? Aliases { get; init; }

    public IReadOnlyList<string>? Providers { get; init; }

    public IReadOnlyList<string>? Models { get; init; }

    public IReadOnlyList<string>? Nodes { get; init; }
}
