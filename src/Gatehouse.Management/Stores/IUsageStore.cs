using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Stores;

/// <summary>
/// The usage rollups of a store: what gateway nodes write (<see cref="IUsageSink"/>) and what analytics read. Every
/// <see cref="IConfigStore"/> that <see cref="ConfigStores.OpenAsync"/> returns is one.
/// </summary>
public interface IUsageStore : IUsageSink
{
    /// <summary>Every row of <paramref name="query"/>'s granularity, time range and filters, in no particular order.</summary>
    Task<IReadOnlyList<UsageRow>> ReadUsageAsync(UsageRowQuery query, CancellationToken cancellationToken = default);
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
}
