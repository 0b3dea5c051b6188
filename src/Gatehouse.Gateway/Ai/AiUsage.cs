namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Tokens of one call, as the provider reported them, or estimated where it did not. <see cref="CacheRead"/> and
/// <see cref="CacheWrite"/> are the parts of <see cref="Prompt"/> the provider read from and wrote to its prompt cache,
/// which it bills at their own prices.
/// </summary>
internal readonly record struct AiUsage(long Prompt, long Completion, long Total, bool Estimated, long CacheRead = 0, long CacheWrite = 0)
{
    public static AiUsage From(long prompt, long completion, long total, bool estimated, long cacheRead = 0, long cacheWrite = 0) =>
        new(prompt, completion, total > 0 ? total : prompt + completion, estimated, cacheRead, cacheWrite);

    /// <summary>The cost in nano-units at <paramref name="price"/>.</summary>
    public long Cost(Gatehouse.Model.Config.AiPriceConfig price) => Gatehouse.Model.Usage.AiCost.Nanos(price, Prompt, Completion, CacheRead, CacheWrite);
}
