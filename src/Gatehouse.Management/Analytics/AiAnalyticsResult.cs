using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Analytics;

/// <summary>The answer to a model-usage query (<c>GET /admin/analytics/ai</c>): tokens and cost of model calls.</summary>
public sealed record AiAnalyticsResult(AnalyticsQuery Query, IReadOnlyList<AiAnalyticsSeries> Series, bool Truncated);

/// <summary>
/// One group's series of model usage. <see cref="Group"/> holds the value of each grouped dimension; <see cref="Other"/>
/// marks the series that adds up the groups past the limit.
/// </summary>
public sealed record AiAnalyticsSeries(IReadOnlyDictionary<string, string> Group, bool Other, AiAnalyticsPoint Total, IReadOnlyList<AiAnalyticsPoint> Points);

/// <summary>
/// One bucket of a model-usage series (or a series' total): calls a provider answered, their tokens, how many of them had
/// estimated tokens (the provider's usage never came), and their cost in nano-units of the prices' currency.
/// </summary>
public sealed record AiAnalyticsPoint(DateTimeOffset Time, long Calls, long PromptTokens, long CompletionTokens, long EstimatedCalls, long CostNanos)
{
    public long TotalTokens => PromptTokens + CompletionTokens;

    /// <summary>The cost in units of the currency, exact (<see cref="AiCost.Units"/>).</summary>
    public decimal Cost => AiCost.Units(CostNanos);
}
