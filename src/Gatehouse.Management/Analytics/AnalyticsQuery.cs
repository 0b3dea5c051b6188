using System.Globalization;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Analytics;

/// <summary>
/// One analytics question: the buckets of <see cref="Granularity"/> from <see cref="From"/> (inclusive) to <see cref="To"/>
/// (exclusive), grouped by <see cref="GroupBy"/>, filtered, at most <see cref="Limit"/> series (the busiest; the rest are
/// added up in one series marked <c>other</c>).
/// </summary>
public sealed record AnalyticsQuery
{
    /// <summary>The dimensions a query may group and filter by.</summary>
    public static readonly string[] Dimensions = ["application", "plan", "operation", "status", "statusClass", "node"];

    /// <summary>The dimensions a model-usage query (<c>GET /admin/analytics/ai</c>) may group and filter by.</summary>
    public static readonly string[] AiDimensions = ["application", "plan", "alias", "provider", "model", "node"];

    /// <summary>
    /// The filter value that stands for the empty one: calls without an application (anonymous, or refused before one was
    /// known), without a plan, that matched no operation. An empty filter value cannot say it, as it means "no filter" to
    /// a form that sends every field; names in config never hold parentheses, so this cannot be a name.
    /// </summary>
    public const string None = "(none)";

    /// <summary>Most buckets one query may span.</summary>
    public const int MaxBuckets = 10_000;

    public required DateTimeOffset From { get; init; }

    public required DateTimeOffset To { get; init; }

    public required UsageGranularity Granularity { get; init; }

    public IReadOnlyList<string> GroupBy { get; init; } = [];

    /// <summary>Per dimension, the values kept (any of them).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<string>> Filters { get; init; } = new Dictionary<string, IReadOnlyList<string>>();

    public int Limit { get; init; } = 50;

    /// <summary>
    /// Reads a query from URL parameters: <c>from</c>, <c>to</c> (RFC 3339 or Unix seconds; default the last hour),
    /// <c>granularity</c> (<c>minute</c>, <c>hour</c>, <c>day</c>; default by the range), <c>groupBy</c> (comma-separated),
    /// a filter per dimension (comma-separated values), <c>limit</c>. Returns the error to show instead when one is wrong.
    /// </summary>
    public static AnalyticsQuery? Parse(Func<string, string?> parameter, DateTimeOffset now, out string? error) =>
        Parse(parameter, now, Dimensions, out error);

    /// <summary>Reads a query as <see cref="Parse(Func{string, string?}, DateTimeOffset, out string?)"/> does, with <paramref name="dimensions"/> to group and filter by.</summary>
    public static AnalyticsQuery? Parse(Func<string, string?> parameter, DateTimeOffset now, IReadOnlyList<string> dimensions, out string? error)
    {
        ArgumentNullException.ThrowIfNull(parameter);
        ArgumentNullException.ThrowIfNull(dimensions);
        error = null;
        var to = now;
        var from = now.AddHours(-1);
        if (parameter("to") is { Length: > 0 } toText && !TryTime(toText, out to))
        {
            error = $"'to' is '{toText}', which is not a time; write RFC 3339 (2026-01-31T12:00:00Z) or Unix seconds.";
            return null;
        }

        if (parameter("from") is { Length: > 0 } fromText)
        {
            if (!TryTime(fromText, out from))
            {
                error = $"'from' is '{fromText}', which is not a time; write RFC 3339 (2026-01-31T12:00:00Z) or Unix seconds.";
                return null;
            }
        }
        else if (parameter("to") is { Length: > 0 })
        {
            from = to.AddHours(-1);
        }

        if (from >= to)
        {
            error = "'from' must be before 'to'.";
            return null;
        }

        var span = to - from;
        var granularity = span <= TimeSpan.FromHours(6) ? UsageGranularity.Minute : span <= TimeSpan.FromDays(14) ? UsageGranularity.Hour : UsageGranularity.Day;
        if (parameter("granularity") is { Length: > 0 } asked)
        {
            switch (asked)
            {
                case "minute": granularity = UsageGranularity.Minute; break;
                case "hour": granularity = UsageGranularity.Hour; break;
                case "day": granularity = UsageGranularity.Day; break;
                default:
                    error = $"'granularity' is '{asked}'; use minute, hour or day.";
                    return null;
            }
        }

        var buckets = Math.Ceiling(span.TotalSeconds / UsageBuckets.Seconds(granularity));
        if (buckets > MaxBuckets)
        {
            error = $"{from:u} to {to:u} by the {Name(granularity)} is {buckets:0} buckets, more than {MaxBuckets}; choose a coarser granularity or a shorter range.";
            return null;
        }

        var groupBy = new List<string>();
        foreach (var name in Split(parameter("groupBy")))
        {
            if (!dimensions.Contains(name, StringComparer.Ordinal))
            {
                error = $"'groupBy' names '{name}', which is not one of {string.Join(", ", dimensions)}.";
                return null;
            }

            if (!groupBy.Contains(name, StringComparer.Ordinal))
            {
                groupBy.Add(name);
            }
        }

        var filters = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var dimension in dimensions)
        {
            var values = Split(parameter(dimension)).ToList();
            if (values.Count == 0)
            {
                continue;
            }

            if (dimension == "status" && values.Any(v => !int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var s) || s is < 100 or > 599))
            {
                error = "'status' takes HTTP status codes, such as 200,404.";
                return null;
            }

            if (dimension == "statusClass" && values.Any(v => v is not ("1xx" or "2xx" or "3xx" or "4xx" or "5xx")))
            {
                error = "'statusClass' takes 1xx, 2xx, 3xx, 4xx or 5xx.";
                return null;
            }

            filters[dimension] = [.. values.Select(v => v == None ? "" : v)];
        }

        var limit = 50;
        if (parameter("limit") is { Length: > 0 } limitText && (!int.TryParse(limitText, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            error = "'limit' is the most series returned, from 1 to 1000.";
            return null;
        }

        return new AnalyticsQuery
        {
            From = Align(from, granularity),
            To = to,
            Granularity = granularity,
            GroupBy = groupBy,
            Filters = filters,
            Limit = limit,
        };

        static string Name(UsageGranularity granularity) => granularity.ToString().ToLowerInvariant();
    }

    private static DateTimeOffset Align(DateTimeOffset time, UsageGranularity granularity) =>
        DateTimeOffset.FromUnixTimeSeconds(UsageBuckets.Start(granularity, time.ToUnixTimeSeconds()));

    private static IEnumerable<string> Split(string? text) =>
        (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

    private static bool TryTime(string text, out DateTimeOffset time)
    {
        if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) && seconds < 100_000_000_000)
        {
            time = DateTimeOffset.FromUnixTimeSeconds(seconds);
            return true;
        }

        return DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time);
    }
}
