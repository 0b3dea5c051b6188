namespace Gatehouse.Model.Usage;

/// <summary>
/// The cost of model calls as an integer of billionths (nano-units) of the configured prices' currency. Prices are per
/// million tokens, so one token at a price of 1 costs one micro-unit; nano-units keep three more decimals of a price
/// (0.075 or 0.15 per million are whole nano-units per token), so each call's cost is rounded once, by at most half a
/// nano-unit, and every sum after that is exact.
/// </summary>
public static class AiCost
{
    /// <summary>Nano-units in one unit of the currency.</summary>
    public const long NanosPerUnit = 1_000_000_000;

    /// <summary>
    /// The cost in nano-units of <paramref name="promptTokens"/> and <paramref name="completionTokens"/> at prices per
    /// million tokens; computed in <see cref="decimal"/> (a price such as 0.15 is exact there, not 0.1499…).
    /// </summary>
    public static long Nanos(long promptTokens, long completionTokens, double promptPrice, double completionPrice)
    {
        // Per million tokens → per token is 10⁻⁶ units = 10³ nano-units.
        return Round((promptTokens * (decimal)promptPrice * 1000m) + (completionTokens * (decimal)completionPrice * 1000m));
    }

    /// <summary>
    /// The cost in nano-units of a call's tokens at <paramref name="price"/>: of its <paramref name="promptTokens"/>, those
    /// read from and written to the provider's prompt cache at their own prices (<c>cachedPrompt</c>, <c>cacheWrite</c>,
    /// each <c>prompt</c> when not given), the rest at <c>prompt</c>.
    /// </summary>
    public static long Nanos(Config.AiPriceConfig price, long promptTokens, long completionTokens, long cacheRead, long cacheWrite)
    {
        cacheRead = Math.Clamp(cacheRead, 0, promptTokens);
        cacheWrite = Math.Clamp(cacheWrite, 0, promptTokens - cacheRead);
        return Round(((promptTokens - cacheRead - cacheWrite) * (decimal)price.Prompt * 1000m)
            + (cacheRead * (decimal)(price.CachedPrompt ?? price.Prompt) * 1000m)
            + (cacheWrite * (decimal)(price.CacheWrite ?? price.Prompt) * 1000m)
            + (completionTokens * (decimal)price.Completion * 1000m));
    }

    // A call's cost rounded once, to the nearest nano-unit; at most long.MaxValue.
    private static long Round(decimal nanos) => nanos >= long.MaxValue ? long.MaxValue : (long)Math.Round(nanos, MidpointRounding.AwayFromZero);

    /// <summary>An amount of the currency (a spend limit's) in nano-units, rounded to the nearest; at most <see cref="long.MaxValue"/>.</summary>
    public static long NanosOf(double amount)
    {
        return Round((decimal)amount * NanosPerUnit);
    }

    /// <summary>Nano-units as a decimal amount of the currency (exact).</summary>
    public static decimal Units(long nanos) => nanos / (decimal)NanosPerUnit;
}
