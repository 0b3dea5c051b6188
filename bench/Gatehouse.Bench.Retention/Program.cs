using System.Diagnostics;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

// Retention on a store another writer is using (issue 19): deletes the hour rows before a day of a seeded store, as the
// aggregator's hourly retention does, while a writer adds one usage row every 100 ms through the store's own write path,
// and prints how long the writes waited. It deletes rows: run it on a copy of a store seeded by Gatehouse.Bench.Analytics.
//
//   cp /tmp/dense.db /tmp/copy.db
//   dotnet run -c Release --project bench/Gatehouse.Bench.Retention -- sqlite:/tmp/copy.db DAYS
//
// DAYS: hour rows before the seed's first day plus DAYS are deleted (the seed starts 2025-12-01; 3 days of a dense
// store are 720,000 rows). Run again with a larger DAYS for the next ones.
if (args.Length != 2 || !int.TryParse(args[1], out var days))
{
    Console.Error.WriteLine("usage: Gatehouse.Bench.Retention STORE DAYS (a copy of a store seeded by Gatehouse.Bench.Analytics: rows are deleted)");
    return 2;
}

await using var configStore = await ConfigStores.OpenAsync(args[0], TimeProvider.System);
var usage = (IUsageStore)configStore;
var seedStart = new DateTimeOffset(2025, 12, 1, 0, 0, 0, TimeSpan.Zero).ToUnixTimeSeconds();
var latencies = new List<double>();
var failures = 0;
using var stop = new CancellationTokenSource();
var writer = Task.Run(async () =>
{
    // Rows far after the seed's, one new minute each, so every write inserts.
    for (var i = 0; !stop.IsCancellationRequested; i++)
    {
        var watch = Stopwatch.StartNew();
        try
        {
            await usage.WriteAsync([new UsageRow
            {
                Granularity = UsageGranularity.Minute, Bucket = 1_800_000_000 + (60L * i), Node = "retention-bench",
                Key = new UsageKey("retention-bench", "plan", "operation", 200), Count = 1, Histogram = new LatencyHistogram(),
            }]);
            latencies.Add(watch.Elapsed.TotalMilliseconds);
        }
        catch (Exception e) when (e is System.Data.Common.DbException or TimeoutException)
        {
            failures++;
            Console.WriteLine($"a write failed after {watch.Elapsed.TotalMilliseconds:0} ms: {e.Message.Split('\n')[0]}");
        }

        await Task.Delay(100);
    }
});

await Task.Delay(500);
var deleting = Stopwatch.StartNew();
var deleted = await usage.DeleteBeforeAsync(UsageGranularity.Hour, seedStart + (days * 86_400L));
Console.WriteLine($"deleted {deleted:N0} hour rows in {deleting.Elapsed.TotalSeconds:0.0} s");
await stop.CancelAsync();
await writer;
latencies.Sort();
Console.WriteLine(latencies.Count == 0
    ? $"no write got through; {failures} failed"
    : $"writes: {latencies.Count} done, {failures} failed; waited p50 {latencies[latencies.Count / 2]:0.0} ms, p99 {latencies[(int)(latencies.Count * 0.99)]:0.0} ms, max {latencies[^1]:0.0} ms");
return 0;
