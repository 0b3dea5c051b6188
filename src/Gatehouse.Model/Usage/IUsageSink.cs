namespace Gatehouse.Model.Usage;

/// <summary>
/// Where a gateway node's usage rollups go: the store (SQLite, PostgreSQL), or later a control plane over HTTP. Called only by
/// the aggregator's background loop, never on the request path.
/// </summary>
public interface IUsageSink
{
    /// <summary>The rows <paramref name="node"/> wrote for the given buckets (to go on counting after a restart).</summary>
    Task<IReadOnlyList<UsageRow>> LoadAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces each row (all of them, or none).</summary>
    Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default);

    /// <summary>Deletes rows of <paramref name="granularity"/> whose bucket starts before <paramref name="before"/>; returns how many.</summary>
    Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default);
}
