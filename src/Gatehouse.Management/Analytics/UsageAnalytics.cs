using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Analytics;

/// <summary>
/// Answers analytics queries from the store's rollups: the rows of the granularity asked for are read once, and added up
/// per group and bucket, histograms merged. When a query neither groups nor filters by application it reads the rows that
/// already add up every application, so it never touches the per-application rows. Nodes add up: a cluster's answer is the
/// sum of its nodes'.
/// </summary>
public sealed class UsageAnalytics(IUsageStore store)
{
    public async Task<AnalyticsResult> QueryAsync(AnalyticsQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        var filters = query.Filters;
        var byApplication = query.GroupBy.Contains("application") || filters.ContainsKey("application");
        var rows = await store.ReadUsageAsync(new UsageRowQuery(query.Granularity, query.From.ToUnixTimeSeconds(), query.To.ToUnixTimeSeconds(), !byApplication)
        {
            Applications = filters.GetValueOrDefault("application"),
            Plans = filters.GetValueOrDefault("plan"),
            Operations = filters.GetValueOrDefault("operation"),
            Nodes = filters.GetValueOrDefault("node"),
            Statuses = filters.GetValueOrDefault("status")?.Select(int.Parse).ToList(),
        }, cancellationToken).ConfigureAwait(false);

        var classes = filters.GetValueOrDefault("statusClass");
        var groups = new Dictionary<string, Accumulator>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (classes is not null && !classes.Contains(StatusClass(row.Key.Status)))
            {
                continue;
            }

            var values = query.GroupBy.Select(d => Value(d, row)).ToArray();
            var id = string.Join('\u0001', values);
            if (!groups.TryGetValue(id, out var group))
            {
                group = new Accumulator(values);
                groups[id] = group;
            }

            group.Add(row);
        }

        var ordered = groups.Values.OrderByDescending(g => g.Total.Count).ThenBy(g => string.Join('\u0001', g.Values), StringComparer.Ordinal).ToList();
        var series = new List<AnalyticsSeries>();
        foreach (var group in ordered.Take(query.Limit))
        {
            series.Add(group.ToSeries(query.GroupBy, other: false));
        }

        var truncated = ordered.Count > query.Limit;
        if (truncated)
        {
            var other = new Accumulator(query.GroupBy.Select(_ => "").ToArray());
            foreach (var group in ordered.Skip(query.Limit))
            {
                other.Merge(group);
            }

            series.Add(other.ToSeries(query.GroupBy, other: true));
        }

        return new AnalyticsResult(query, series, truncated);
    }

    /// <summary><c>2xx</c> and so on.</summary>
    public static string StatusClass(int status) => $"{status / 100}xx";

    private static string Value(string dimension, UsageRow row) => dimension switch
    {
        "application" => row.Key.Application,
        "plan" => row.Key.Plan,
        "operation" => row.Key.Operation,
        "status" => row.Key.Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
        "statusClass" => StatusClass(row.Key.Status),
        _ => row.Node,
    };

    private sealed class Bucket
    {
        public long Count;
        public long Errors;
        public long ClientErrors;
        public long BytesIn;
        public long BytesOut;
        public long LatencySum;
        public readonly LatencyHistogram Histogram = new();

        public void Add(UsageRow row)
        {
            Count += row.Count;
            Errors += row.Key.Status >= 500 ? row.Count : 0;
            ClientErrors += row.Key.Status is >= 400 and < 500 ? row.Count : 0;
            BytesIn += row.BytesIn;
            BytesOut += row.BytesOut;
            LatencySum += row.LatencySumMicros;
            Histogram.Merge(row.Histogram);
        }

        public void Merge(Bucket other)
        {
            Count += other.Count;
            Errors += other.Errors;
            ClientErrors += other.ClientErrors;
            BytesIn += other.BytesIn;
            BytesOut += other.BytesOut;
            LatencySum += other.LatencySum;
            Histogram.Merge(other.Histogram);
        }

        public AnalyticsPoint ToPoint(DateTimeOffset time) => new(
            time, Count, Errors, ClientErrors, BytesIn, BytesOut,
            Count == 0 ? double.NaN : LatencySum / 1000.0 / Count,
            Histogram.Quantile(0.50) / 1000, Histogram.Quantile(0.95) / 1000, Histogram.Quantile(0.99) / 1000);
    }

    private sealed class Accumulator(string[] values)
    {
        public string[] Values { get; } = values;

        public SortedDictionary<long, Bucket> Buckets { get; } = [];

        public Bucket Total { get; } = new();

        public void Add(UsageRow row)
        {
            if (!Buckets.TryGetValue(row.Bucket, out var bucket))
            {
                bucket = new Bucket();
                Buckets[row.Bucket] = bucket;
            }

            bucket.Add(row);
            Total.Add(row);
        }

        public void Merge(Accumulator other)
        {
            foreach (var (time, bucket) in other.Buckets)
            {
                if (!Buckets.TryGetValue(time, out var mine))
                {
                    mine = new Bucket();
                    Buckets[time] = mine;
                }

                mine.Merge(bucket);
            }

            Total.Merge(other.Total);
        }

        public AnalyticsSeries ToSeries(IReadOnlyList<string> dimensions, bool other)
        {
            var group = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var i = 0; i < dimensions.Count; i++)
            {
                group[dimensions[i]] = Values[i];
            }

            var first = Buckets.Count == 0 ? DateTimeOffset.UnixEpoch : DateTimeOffset.FromUnixTimeSeconds(Buckets.Keys.First());
            return new AnalyticsSeries(group, other, Total.ToPoint(first), [.. Buckets.Select(b => b.Value.ToPoint(DateTimeOffset.FromUnixTimeSeconds(b.Key)))]);
        }
    }
}
