using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Analytics;

/// <summary>
/// Answers analytics queries from the store's rollups: the rows of the granularity asked for are read once, and added up
/// per group and bucket, histograms merged. When a query neither groups nor filters by application it reads the rows that
/// already add up every application, so it never touches the per-application rows. Nodes add up: a cluster's answer is the
/// sum of its nodes'.
/// </summary>
public sealed partial class UsageAnalytics(IUsageStore store)
{
    public async Task<AnalyticsResult> QueryAsync(AnalyticsQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filters = query.Filters;
        var byApplication = query.GroupBy.Contains("application") || filters.ContainsKey("application");
        var rows = new UsageRowQuery(query.Granularity, query.From.ToUnixTimeSeconds(), query.To.ToUnixTimeSeconds(), !byApplication)
        {
            Applications = filters.GetValueOrDefault("application"),
            Plans = filters.GetValueOrDefault("plan"),
            Operations = filters.GetValueOrDefault("operation"),
            Nodes = filters.GetValueOrDefault("node"),
            Statuses = filters.GetValueOrDefault("status")?.Select(int.Parse).ToList(),
            StatusClasses = filters.GetValueOrDefault("statusClass")?.Select(c => c[0] - '0').ToList(),
        };
        var groupBy = query.GroupBy;

        // The busiest groups are chosen by their totals, added up in the database; only theirs are read bucket by bucket,
        // with histograms. The rest, if any, make one "other" series of counts.
        List<UsageAggregate>? totals = null;
        var truncated = false;
        IReadOnlyList<string[]>? only = null;
        if (groupBy.Count > 0)
        {
            totals = [.. (await store.AggregateUsageAsync(rows, groupBy, byBucket: false, histograms: false, cancellationToken: cancellationToken, countsOnly: true).ConfigureAwait(false))
                .Where(t => t.Count > 0)
                .OrderByDescending(t => t.Count).ThenBy(t => string.Join('\u0001', t.Group), StringComparer.Ordinal)];
            truncated = totals.Count > query.Limit;
            if (truncated)
            {
                only = [.. totals.Take(query.Limit).Select(t => t.Group)];
            }
        }

        var points = await store.AggregateUsageAsync(rows, groupBy, byBucket: true, histograms: true, only, cancellationToken).ConfigureAwait(false);
        var byGroup = points.Where(p => p.Count > 0).GroupBy(p => string.Join('\u0001', p.Group), StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.OrderBy(p => p.Bucket).ToList(), StringComparer.Ordinal);
        var order = totals?.Take(query.Limit).Select(t => string.Join('\u0001', t.Group)).ToList() ?? [.. byGroup.Keys];
        var series = new List<AnalyticsSeries>();
        foreach (var id in order)
        {
            if (byGroup.TryGetValue(id, out var list))
            {
                series.Add(ToSeries(groupBy, list[0].Group, other: false, list));
            }
        }

        if (truncated)
        {
            // The whole, per bucket, that the top groups are taken from. Unless the query picks applications, the rows that
            // already add up every application hold it (the aggregator writes them beside each application's row, with the
            // same plan, operation, node and status): a ranking then reads every application's rows once, not twice.
            var whole = rows.AllApplications || rows.Applications is { Count: > 0 } ? rows : rows with { AllApplications = true };
            var all = await store.AggregateUsageAsync(whole, [], byBucket: true, histograms: false, cancellationToken: cancellationToken).ConfigureAwait(false);
            var taken = points.GroupBy(p => p.Bucket).ToDictionary(g => g.Key, g => g.ToList());
            var rest = new List<UsageAggregate>();
            foreach (var bucket in all.Where(a => a.Count > 0).OrderBy(a => a.Bucket))
            {
                var top = taken.GetValueOrDefault(bucket.Bucket) ?? [];
                var left = bucket with
                {
                    Count = bucket.Count - top.Sum(p => p.Count),
                    Errors = bucket.Errors - top.Sum(p => p.Errors),
                    ClientErrors = bucket.ClientErrors - top.Sum(p => p.ClientErrors),
                    BytesIn = bucket.BytesIn - top.Sum(p => p.BytesIn),
                    BytesOut = bucket.BytesOut - top.Sum(p => p.BytesOut),
                    LatencySumMicros = bucket.LatencySumMicros - top.Sum(p => p.LatencySumMicros),
                };
                if (left.Count > 0)
                {
                    rest.Add(left);
                }
            }

            series.Add(ToSeries(groupBy, [.. groupBy.Select(_ => "")], other: true, rest));
        }

        return new AnalyticsResult(query, series, truncated);
    }

    private static AnalyticsSeries ToSeries(IReadOnlyList<string> dimensions, string[] values, bool other, List<UsageAggregate> points)
    {
        var group = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < dimensions.Count; i++)
        {
            group[dimensions[i]] = values[i];
        }

        var total = new LatencyHistogram();
        foreach (var p in points)
        {
            if (p.Histogram is { } h)
            {
                total.Merge(h);
            }
        }

        var sum = new UsageAggregate(0, values, points.Sum(p => p.Count), points.Sum(p => p.Errors), points.Sum(p => p.ClientErrors),
            points.Sum(p => p.BytesIn), points.Sum(p => p.BytesOut), points.Sum(p => p.LatencySumMicros)) { Histogram = other ? null : total };
        var first = points.Count == 0 ? DateTimeOffset.UnixEpoch : DateTimeOffset.FromUnixTimeSeconds(points[0].Bucket);
        return new AnalyticsSeries(group, other, Point(first, sum), [.. points.Select(p => Point(DateTimeOffset.FromUnixTimeSeconds(p.Bucket), p))]);
    }

    /// <summary>
    /// A point; percentiles are NaN without a histogram (the "other" series). The mean is over the timed calls (those in
    /// the histogram): calls reported through the service API without a duration count, but have no latency to add.
    /// </summary>
    private static AnalyticsPoint Point(DateTimeOffset time, UsageAggregate a) => new(
        time, a.Count, a.Errors, a.ClientErrors, a.BytesIn, a.BytesOut,
        (a.Histogram?.Count ?? a.Count) is var timed && timed == 0 ? double.NaN : a.LatencySumMicros / 1000.0 / timed,
        (a.Histogram?.Quantile(0.50) ?? double.NaN) / 1000, (a.Histogram?.Quantile(0.95) ?? double.NaN) / 1000, (a.Histogram?.Quantile(0.99) ?? double.NaN) / 1000);

    /// <summary><c>2xx</c> and so on.</summary>
    public static string StatusClass(int status) => $"{status / 100}xx";
}
