using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Analytics;

/// <summary>
/// An application's own usage, for its owner (the developer portal) and the admin API: calls per day and what is left of
/// each limit of its plan. Never another application's data: every answer is scoped to the one application asked about.
/// </summary>
public interface IConsumerUsage
{
    /// <summary>
    /// <paramref name="application"/>'s calls per day (UTC) from <paramref name="from"/> to <paramref name="to"/> (at most 400
    /// days), by status class, with its model calls' tokens, and its plan's limits as they stand now on this node.
    /// </summary>
    Task<ConsumerUsageReport> GetAsync(string application, DateOnly from, DateOnly to, CancellationToken cancellationToken = default);
}

/// <summary>An application's usage report.</summary>
public sealed record ConsumerUsageReport(string Application, IReadOnlyList<ConsumerUsageDay> Days, IReadOnlyList<QuotaWindow> Limits);

/// <summary>
/// One day of an application's calls: all of them, and those answered 4xx and 5xx; and its model calls (that a provider
/// answered) with their tokens. Cost is left out on purpose: it is the operator's price of the provider's model, not
/// something the consumer is billed.
/// </summary>
public sealed record ConsumerUsageDay(DateOnly Day, long Calls, long ClientErrors, long Errors, double P95Ms)
{
    public long ModelCalls { get; init; }

    public long PromptTokens { get; init; }

    public long CompletionTokens { get; init; }
}

/// <summary>
/// <see cref="IConsumerUsage"/> over the store's day rollups and the gateway's limit counters (given as
/// <paramref name="limits"/>: null when no gateway runs in this process, and the report then lists no limits).
/// </summary>
public sealed class ConsumerUsage(UsageAnalytics analytics, Func<string, IReadOnlyList<QuotaWindow>>? limits) : IConsumerUsage
{
    /// <summary>Most days one report spans.</summary>
    public const int MaxDays = 400;

    public async Task<ConsumerUsageReport> GetAsync(string application, DateOnly from, DateOnly to, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(application);
        if (to < from || to.DayNumber - from.DayNumber >= MaxDays)
        {
            throw new ArgumentOutOfRangeException(nameof(to), $"The report covers 1 to {MaxDays} days, from 'from' to 'to'.");
        }

        var start = new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var end = new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
        var result = await analytics.QueryAsync(new AnalyticsQuery
        {
            From = start,
            To = end,
            Granularity = UsageGranularity.Day,
            Filters = new Dictionary<string, IReadOnlyList<string>> { ["application"] = [application] },
            Limit = 1,
        }, cancellationToken).ConfigureAwait(false);

        var models = await analytics.QueryAiAsync(new AnalyticsQuery
        {
            From = start,
            To = end,
            Granularity = UsageGranularity.Day,
            Filters = new Dictionary<string, IReadOnlyList<string>> { ["application"] = [application] },
            Limit = 1,
        }, cancellationToken).ConfigureAwait(false);

        var byDay = result.Series.Where(s => !s.Other).SelectMany(s => s.Points).ToDictionary(p => DateOnly.FromDateTime(p.Time.UtcDateTime));
        var tokensByDay = models.Series.Where(s => !s.Other).SelectMany(s => s.Points).ToDictionary(p => DateOnly.FromDateTime(p.Time.UtcDateTime));
        var days = new List<ConsumerUsageDay>();
        for (var day = from; day <= to; day = day.AddDays(1))
        {
            var calls = byDay.TryGetValue(day, out var p)
                ? new ConsumerUsageDay(day, p.Count, p.ClientErrors, p.Errors, p.P95Ms)
                : new ConsumerUsageDay(day, 0, 0, 0, double.NaN);
            days.Add(tokensByDay.TryGetValue(day, out var t)
                ? calls with { ModelCalls = t.Calls, PromptTokens = t.PromptTokens, CompletionTokens = t.CompletionTokens }
                : calls);
        }

        return new ConsumerUsageReport(application, days, limits?.Invoke(application) ?? []);
    }
}
