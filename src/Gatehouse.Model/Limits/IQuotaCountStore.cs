namespace Gatehouse.Model.Limits;

/// <summary>
/// Where a gateway node keeps its quota counts (hour, day, month) so that a restart does not hand out a fresh quota.
/// The gateway writes only what changed, in batches off the request path, and reads them once at start. The store
/// (SQLite or PostgreSQL) implements it; the scale-out work (issue 21) merges counts of several nodes behind it.
/// </summary>
public interface IQuotaCountStore
{
    /// <summary>Every count kept, each the newest window written for its application and limit.</summary>
    Task<IReadOnlyList<QuotaCount>> ReadQuotaCountsAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Records <paramref name="counts"/> in one transaction: each replaces the count of its application, limit and
    /// window (never lowering it), and older windows of that application and limit are forgotten.
    /// </summary>
    Task WriteQuotaCountsAsync(IReadOnlyList<QuotaCount> counts, CancellationToken cancellationToken = default);
}
