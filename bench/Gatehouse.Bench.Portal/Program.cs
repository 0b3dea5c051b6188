// Issue #18's performance targets, against a real `gatehouse run --store` process (a Release build of src/Gatehouse):
//   1. With APPS portal applications in the store, SIGNUPS sign-ups + application creations spread over SECONDS, driven
//      through the portal's HTML forms: each new key must work at the gateway within 1 s of the creating answer (p99),
//      and the gateway's RPS during the burst must be >= 90% of its RPS in an equal window without it (same run).
//   2. Portal pages answer in <= 50 ms p95 with APPS applications in the store.
//   3. (mode "console") The console's searches answer in <= 50 ms p95 with N accounts and N applications in the store.
// Usage (the lead runs the full size on a quiet machine; a few seconds' check: `... -- 1000 20 5 2`):
//   dotnet build -c Release src/Gatehouse
//   dotnet run -c Release --project bench/Gatehouse.Bench.Portal -- [apps=100000] [signups=1000] [seconds=60] [loops=4]
//   dotnet run -c Release --project bench/Gatehouse.Bench.Portal -- console [n=100000] [repeats=200]
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Bench.Portal;

if (args is ["console", ..])
{
    await ConsoleSearchTimes.RunAsync(
        args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000, args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200);
    return;
}

var apps = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 100_000;
var signups = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 1_000;
var seconds = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 60;
var loops = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 4;

await using var harness = await Harness.StartAsync(apps);
Console.WriteLine($"store: {apps:N0} portal applications preloaded in {harness.PreloadMs:N0} ms; gateway {harness.GatewayUrl}, portal {harness.PortalUrl}");

// Warm up both paths, then the two equal windows.
await Load.RunAsync(harness.GatewayUrl, harness.Key, loops, TimeSpan.FromSeconds(Math.Min(5, seconds)));
await Burst.SignUpAsync(harness, 0, CancellationToken.None);
var quiet = await Load.RunAsync(harness.GatewayUrl, harness.Key, loops, TimeSpan.FromSeconds(seconds));

var latencies = new ConcurrentBag<double>();
var failures = 0;
using var window = new CancellationTokenSource(TimeSpan.FromSeconds(seconds + 30));
var during = Load.RunAsync(harness.GatewayUrl, harness.Key, loops, TimeSpan.FromSeconds(seconds));
var spacing = TimeSpan.FromSeconds((double)seconds / signups);
var started = Stopwatch.StartNew();
var burst = new List<Task>();
for (var i = 1; i <= signups; i++)
{
    var due = spacing * (i - 1);
    if (due > started.Elapsed)
    {
        await Task.Delay(due - started.Elapsed);
    }

    var n = i;
    burst.Add(Task.Run(async () =>
    {
        try
        {
            latencies.Add(await Burst.SignUpAsync(harness, n, window.Token));
        }
        catch (Exception e)
        {
            if (Interlocked.Increment(ref failures) <= 3)
            {
                Console.WriteLine($"sign-up {n} failed: {e.Message}");
            }
        }
    }));
}

await Task.WhenAll(burst);
var busy = await during;
var sorted = latencies.Order().ToArray();
double Pct(double[] values, double p) => values.Length == 0 ? double.NaN : values[Math.Min(values.Length - 1, (int)Math.Ceiling(p * values.Length) - 1)];
Console.WriteLine($"gateway without burst: {quiet.Rps:N0} RPS ({quiet.Requests:N0} requests, {quiet.Errors} errors)");
Console.WriteLine($"gateway during burst:  {busy.Rps:N0} RPS ({busy.Requests:N0} requests, {busy.Errors} errors); ratio {busy.Rps / quiet.Rps:P1} (target >= 90%)");
Console.WriteLine($"burst: {latencies.Count:N0} sign-ups + applications in {started.Elapsed.TotalSeconds:N1} s, {failures} failed");
Console.WriteLine($"new key works at the gateway after: p50 {Pct(sorted, 0.5):N1} ms, p99 {Pct(sorted, 0.99):N1} ms, max {(sorted.Length == 0 ? double.NaN : sorted[^1]):N1} ms (target p99 <= 1000 ms)");

var pages = await Burst.PageTimesAsync(harness, 200);
foreach (var (page, times) in pages)
{
    var ordered = times.Order().ToArray();
    Console.WriteLine($"page {page,-22} p50 {Pct(ordered, 0.5):N1} ms  p95 {Pct(ordered, 0.95):N1} ms (target p95 <= 50 ms)");
}
