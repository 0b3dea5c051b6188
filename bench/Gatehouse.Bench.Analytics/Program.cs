using System.Diagnostics;
using System.Globalization;
using Gatehouse.Management.Analytics;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

// The analytics query over 90 days of hourly rollups for 10,000 applications (issue 19: answers in ≤ 200 ms).
// Seeds a store through the same write path the gateway's aggregator uses (hour and day rows per application, and the
// all-applications rows), then times the queries the charts and the API make, five times each, and prints the medians.
//
//   dotnet run -c Release --project bench/Gatehouse.Bench.Analytics -- [--store sqlite:PATH|postgres://...]
//       [--apps 10000] [--days 90] [--active-hours 24] [--operations 3] [--reuse]
//
// --active-hours: the hours of each day an application calls (24 = every hour of 90 days: 21.6 million hour rows for
// 10,000 applications; 2 = a sparser estate). --reuse skips seeding when the store already holds rows.
var options = Options.Parse(args);
var time = TimeProvider.System;
await using var configStore = await ConfigStores.OpenAsync(options.Store, time);
var store = (IUsageStore)configStore;
var end = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
var start = end.AddDays(-options.Days);

var existing = await store.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Day, start.ToUnixTimeSeconds(), end.ToUnixTimeSeconds(), AllApplications: true));
if (!options.Reuse || existing.Count == 0)
{
    var seeding = Stopwatch.StartNew();
    var rows = await SeedAsync(store, options, start);
    Console.WriteLine($"seeded {rows:N0} rows in {seeding.Elapsed.TotalSeconds:0.0} s into {options.Store}");
}

var analytics = new UsageAnalytics(store);
var queries = new (string Name, AnalyticsQuery Query)[]
{
    ("estate, 90 days by day, by status class", Query(UsageGranularity.Day, ["statusClass"])),
    ("estate, 90 days by hour", Query(UsageGranularity.Hour, [])),
    ("estate, 90 days by day, by operation", Query(UsageGranularity.Day, ["operation"])),
    ("one application, 90 days by hour", Query(UsageGranularity.Hour, []) with { Filters = new Dictionary<string, IReadOnlyList<string>> { ["application"] = ["app-42"] } }),
    ("one application, 90 days by day (the portal's report)", Query(UsageGranularity.Day, []) with { Filters = new Dictionary<string, IReadOnlyList<string>> { ["application"] = ["app-42"] } }),
    ("top 10 applications, last 24 hours by hour", Query(UsageGranularity.Hour, ["application"]) with { From = end.AddDays(-1), Limit = 10 }),
    // Noon to noon: no whole day in it, so every hour is read (the console's "24 hours" ends at the current time).
    ("top 10 applications, 24 hours to noon by hour", Query(UsageGranularity.Hour, ["application"]) with { From = end.AddHours(-36), To = end.AddHours(-12), Limit = 10 }),
    ("top 10 applications, 90 days by day", Query(UsageGranularity.Day, ["application"]) with { Limit = 10 }),
    ("top 10 applications, 90 days by hour", Query(UsageGranularity.Hour, ["application"]) with { Limit = 10 }),
};

Console.WriteLine($"| query | median ms | min ms | series | rows read |");
Console.WriteLine($"|---|--:|--:|--:|--:|");
foreach (var (name, query) in queries)
{
    var timings = new List<double>();
    AnalyticsResult? result = null;
    for (var i = 0; i < 5; i++)
    {
        var watch = Stopwatch.StartNew();
        result = await analytics.QueryAsync(query);
        timings.Add(watch.Elapsed.TotalMilliseconds);
    }

    timings.Sort();
    var total = result!.Series.Sum(s => s.Points.Count);
    Console.WriteLine($"| {name} | {timings[2]:0.0} | {timings[0]:0.0} | {result.Series.Count} | {total:N0} points |");
}

AnalyticsQuery Query(UsageGranularity granularity, IReadOnlyList<string> groupBy) =>
    new() { From = start, To = end, Granularity = granularity, GroupBy = groupBy };

static async Task<long> SeedAsync(IUsageStore store, Options options, DateTimeOffset start)
{
    var random = new Random(19);
    var batch = new List<UsageRow>(20_000);
    long written = 0;
    for (var day = 0; day < options.Days; day++)
    {
        var dayStart = start.AddDays(day).ToUnixTimeSeconds();
        var dayRows = new Dictionary<UsageKey, (long Count, LatencyHistogram Histogram)>();
        for (var app = 0; app < options.Apps; app++)
        {
            var plan = $"plan-{app % 3}";
            var firstHour = random.Next(24);
            for (var h = 0; h < options.ActiveHours; h++)
            {
                var hour = dayStart + (((firstHour + h) % 24) * 3600);
                var operation = $"service.op{random.Next(options.Operations)}";
                var status = random.Next(100) < 3 ? 503 : 200;
                var count = 1 + random.Next(200);
                var histogram = new LatencyHistogram();
                for (var b = 0; b < 12; b++)
                {
                    histogram.Add(LatencyHistogram.BucketOf(2000 + random.Next(80_000)), 1 + (count / 12));
                }

                foreach (var application in new[] { $"app-{app}", UsageKey.AllApplications })
                {
                    var key = new UsageKey(application, plan, operation, status);
                    batch.Add(Row(UsageGranularity.Hour, hour, key, histogram.Count, histogram));
                    var current = dayRows.TryGetValue(key, out var d) ? d : (0, new LatencyHistogram());
                    current.Histogram.Merge(histogram);
                    dayRows[key] = (current.Count + histogram.Count, current.Histogram);
                }

                if (batch.Count >= 20_000)
                {
                    written += await FlushAsync(store, batch);
                }
            }
        }

        // The all-applications hour rows of one (plan, operation, status) are added up, as the aggregator does.
        batch = [.. batch.GroupBy(r => (r.Bucket, r.Key)).Select(g => g.Count() == 1 ? g.First() : Merge(g.ToList()))];
        batch.AddRange(dayRows.Select(d => Row(UsageGranularity.Day, dayStart, d.Key, d.Value.Count, d.Value.Histogram)));
        written += await FlushAsync(store, batch);
    }

    return written;
}

static UsageRow Merge(List<UsageRow> rows)
{
    var histogram = new LatencyHistogram();
    foreach (var r in rows)
    {
        histogram.Merge(r.Histogram);
    }

    return rows[0] with { Count = rows.Sum(r => r.Count), Histogram = histogram, LatencySumMicros = rows.Sum(r => r.LatencySumMicros) };
}

static async Task<int> FlushAsync(IUsageStore store, List<UsageRow> batch)
{
    // Within one write a key must appear once (rows of one statement cannot update each other).
    var rows = batch.GroupBy(r => (r.Granularity, r.Bucket, r.Key)).Select(g => g.Count() == 1 ? g.First() : Merge(g.ToList())).ToList();
    await store.WriteAsync(rows);
    batch.Clear();
    return rows.Count;
}

static UsageRow Row(UsageGranularity granularity, long bucket, UsageKey key, long count, LatencyHistogram histogram) => new()
{
    Granularity = granularity,
    Bucket = bucket,
    Node = "bench",
    Key = key,
    Count = count,
    LatencySumMicros = count * 20_000,
    Histogram = histogram,
};

internal sealed record Options(string Store, int Apps, int Days, int ActiveHours, int Operations, bool Reuse)
{
    public static Options Parse(string[] args)
    {
        var store = "sqlite:" + Path.Combine(Path.GetTempPath(), "gatehouse-bench-analytics.db");
        int apps = 10_000, days = 90, activeHours = 24, operations = 3;
        var reuse = false;
        for (var i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--store": store = args[++i]; break;
                case "--apps": apps = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--days": days = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--active-hours": activeHours = Math.Clamp(int.Parse(args[++i], CultureInfo.InvariantCulture), 1, 24); break;
                case "--operations": operations = int.Parse(args[++i], CultureInfo.InvariantCulture); break;
                case "--reuse": reuse = true; break;
                default: throw new ArgumentException($"unknown option {args[i]}; see the comment at the top of Program.cs");
            }
        }

        return new Options(store, apps, days, activeHours, operations, reuse);
    }
}
