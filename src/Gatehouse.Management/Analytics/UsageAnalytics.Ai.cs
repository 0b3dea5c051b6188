using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Analytics;

// Model usage (issue 22): tokens and cost of model calls from the usage_ai_* rollups.
public sealed partial class UsageAnalytics
{
    /// <summary>
    /// Tokens and cost of model calls for <paramref name="query"/> (its dimensions are <see cref="AnalyticsQuery.AiDimensions"/>):
    /// one series per group, the groups with the most tokens first; past <see cref="AnalyticsQuery.Limit"/>, the rest add up
    /// in one series marked <c>other</c>. Nodes add up: a cluster's answer is the sum of its nodes'.
    /// </summary>
    public async Task<AiAnalyticsResult> QueryAiAsync(AnalyticsQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        if (query.GroupBy.FirstOrDefault(d => !AnalyticsQuery.AiDimensions.Contains(d, StringComparer.Ordinal)) is { } unknown)
        {
            throw new ArgumentException($"'{unknown}' is not a model-usage dimension.", nameof(query));
        }

        var filters = query.Filters;
        var rows = new AiUsageQuery(query.Granularity, query.From.ToUnixTimeSeconds(), query.To.ToUnixTimeSeconds())
        {
            Applications = filters.GetValueOrDefault("application"),
            Plans = filters.GetValueOrDefault("plan"),
            Aliases = filters.GetValueOrDefault("alias"),
            Providers = filters.GetValueOrDefault("provider"),
            Models = filters.GetValueOrDefault("model"),
            Nodes = filters.GetValueOrDefault("node"),
        };

        // Model usage has few rows (one per application and model a bucket), so the groups are ranked here from one read.
        var points = await store.AggregateAiUsageAsync(rows, query.GroupBy, byBucket: true, cancellationToken).ConfigureAwait(false);
        var groups = points
            .GroupBy(p => string.Join('\u0001', p.Group), StringComparer.Ordinal)
            .Select(g => (Id: g.Key, Points: g.OrderBy(p => p.Bucket).ToList()))
            .OrderByDescending(g => g.Points.Sum(p => p.PromptTokens + p.CompletionTokens))
            .ThenByDescending(g => g.Points.Sum(p => p.Calls))
            .ThenBy(g => g.Id, StringComparer.Ordinal)
            .ToList();
        var truncated = groups.Count > query.Limit;
        var series = groups.Take(query.Limit).Select(g => AiSeries(query.GroupBy, g.Points[0].Group, other: false, g.Points)).ToList();
        if (truncated)
        {
            var rest = groups.Skip(query.Limit).SelectMany(g => g.Points)
                .GroupBy(p => p.Bucket)
                .OrderBy(b => b.Key)
                .Select(b => new AiUsageAggregate(b.Key, [], b.Sum(p => p.Calls), b.Sum(p => p.PromptTokens), b.Sum(p => p.CompletionTokens), b.Sum(p => p.EstimatedCalls), b.Sum(p => p.CostNanos)))
                .ToList();
            series.Add(AiSeries(query.GroupBy, [.. query.GroupBy.Select(_ => "")], other: true, rest));
        }

        return new AiAnalyticsResult(query, series, truncated);
    }

    private static AiAnalyticsSeries AiSeries(IReadOnlyList<string> dimensions, string[] values, bool other, List<AiUsageAggregate> points)
    {
        var group = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < dimensions.Count; i++)
        {
            group[dimensions[i]] = values[i];
        }

        var first = points.Count == 0 ? DateTimeOffset.UnixEpoch : DateTimeOffset.FromUnixTimeSeconds(points[0].Bucket);
        var total = new AiAnalyticsPoint(first, points.Sum(p => p.Calls), points.Sum(p => p.PromptTokens), points.Sum(p => p.CompletionTokens),
            points.Sum(p => p.EstimatedCalls), points.Sum(p => p.CostNanos));
        return new AiAnalyticsSeries(group, other, total,
            [.. points.Select(p => new AiAnalyticsPoint(DateTimeOffset.FromUnixTimeSeconds(p.Bucket), p.Calls, p.PromptTokens, p.CompletionTokens, p.EstimatedCalls, p.CostNanos))]);
    }
}
