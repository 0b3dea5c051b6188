namespace Gatehouse.Management.Analytics;

/// <summary>The answer to an <see cref="AnalyticsQuery"/>.</summary>
public sealed record AnalyticsResult(AnalyticsQuery Query, IReadOnlyList<AnalyticsSeries> Series, bool Truncated);

/// <summary>
/// One group's series. <see cref="Group"/> holds the value of each grouped dimension (empty text: none, such as an anonymous
/// caller's application); <see cref="Other"/> marks the series that adds up the groups past the limit.
/// </summary>
public sealed record AnalyticsSeries(IReadOnlyDictionary<string, string> Group, bool Other, AnalyticsPoint Total, IReadOnlyList<AnalyticsPoint> Points);

/// <summary>
/// One bucket of a series (or a series' total). <see cref="Errors"/> counts 5xx answers, <see cref="ClientErrors"/> 4xx;
/// percentiles are in milliseconds, merged from the rows' histograms (within 4.43 %; NaN without requests).
/// </summary>
public sealed record AnalyticsPoint(
    DateTimeOffset Time,
    long Count,
    long Errors,
    long ClientErrors,
    long BytesIn,
    long BytesOut,
    double MeanMs,
    double P50Ms,
    double P95Ms,
    double P99Ms)
{
    public double ErrorRate => Count == 0 ? 0 : (double)Errors / Count;
}
