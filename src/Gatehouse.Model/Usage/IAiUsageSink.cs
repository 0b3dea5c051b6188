namespace Gatehouse.Model.Usage;

/// <summary>
/// Where a gateway node's model-usage rollups (tokens and cost per application, plan, alias and provider model) go: the
/// store's <c>usage_ai_*</c> tables beside the request rollups of <see cref="IUsageSink"/>, or a hybrid node's journal on its
/// way to them. A usage sink that is not one records no model usage. Called only by the aggregator's background loop.
/// </summary>
public interface IAiUsageSink
{
    /// <summary>The rows <paramref name="node"/> wrote for the given buckets (to go on counting after a restart).</summary>
    Task<IReadOnlyList<AiUsageRow>> LoadAiAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default);

    /// <summary>Creates or replaces each row (all of them, or none).</summary>
    Task WriteAiAsync(IReadOnlyList<AiUsageRow> rows, CancellationToken cancellationToken = default);

    /// <summary>Deletes rows of <paramref name="granularity"/> whose bucket starts before <paramref name="before"/>; returns how many.</summary>
    Task<int> DeleteAiBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default);
}
