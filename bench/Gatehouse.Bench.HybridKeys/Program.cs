// Issue 21: "consumer changes (portal applications and keys) reach hybrid data nodes within 1 s (p99)", measured.
// A control plane (`gatehouse run --role control --store sqlite:…`, node API on HTTPS) and a hybrid data node
// (`gatehouse run --role data --control-plane https://…`), both real processes of a Release build, on 127.0.0.1. This
// process writes SAMPLES new portal applications one after another into the control plane's store with ConsumerService
// (the portal's own write path) and times each from the creating call's return until its key first gets 200 from the
// data node (the gateway polled every 2 ms); then the same for revoking each key, until the key first gets 401/403.
// Usage (docs/benchmarks.md, "Config propagation between nodes"):
//   dotnet build -c Release src/Gatehouse
//   dotnet run -c Release --project bench/Gatehouse.Bench.HybridKeys -- [samples=200] [preload=0] [--probe]
// preload: that many portal applications in the store before the start (bulk SQL, as the portal bench preloads);
// --probe: also time when the control plane's node API answers a long poll with each change (where the time goes).
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Gatehouse.Bench.HybridKeys;

var positional = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
var samples = positional.Length > 0 ? int.Parse(positional[0], CultureInfo.InvariantCulture) : 200;
var preload = positional.Length > 1 ? int.Parse(positional[1], CultureInfo.InvariantCulture) : 0;
var probing = args.Contains("--probe");
const int Warmup = 5;
var limit = TimeSpan.FromSeconds(30);

// Every sample is an application of the bench's one portal account, which holds at most the portal's ceiling.
if (Warmup + samples > Gatehouse.Management.Consumers.ConsumerService.MaxApplicationsCeiling)
{
    Console.Error.WriteLine($"At most {Gatehouse.Management.Consumers.ConsumerService.MaxApplicationsCeiling - Warmup} samples: they are applications of one portal account.");
    return 2;
}

var root = RepositoryRoot();
var dll = Environment.GetEnvironmentVariable("GATEHOUSE_DLL") ?? Path.Combine(root, "src", "Gatehouse", "bin", "Release", "net10.0", "gatehouse.dll");
if (!File.Exists(dll))
{
    Console.Error.WriteLine($"No {dll}: run 'dotnet build -c Release src/Gatehouse' first, or set GATEHOUSE_DLL.");
    return 2;
}

Console.WriteLine($"hybrid key propagation: commit {Commit(root)}, {Environment.ProcessorCount} CPUs, {samples} samples (after {Warmup} warm-up ones), " +
    $"{preload:N0} applications preloaded{(probing ? ", probing the node API" : "")}; gatehouse {dll}");
Console.WriteLine($"load average before: {LoadAverage()}");

await using var harness = await Harness.StartAsync(dll, preload, Console.WriteLine);
using var gateway = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(harness.GatewayUrl) };
var started = Stopwatch.StartNew();
try
{
    // Served: the route asks for a key; with a preload, the node has the whole set (the first preloaded key works).
    await UntilAsync(null, s => s == HttpStatusCode.Unauthorized, TimeSpan.FromMinutes(2), "the data node to serve the route");
    if (harness.PreloadedKey is { } preloadedKey)
    {
        var whole = await UntilAsync(preloadedKey, s => s == HttpStatusCode.OK, TimeSpan.FromMinutes(2), "the preloaded applications to reach the data node");
        Console.WriteLine($"the data node serves the preloaded applications ({whole:N0} ms after it served the route)");
    }

    Console.WriteLine($"control plane {harness.AdminUrl} (node API {harness.NodeApiUrl}), data node {harness.GatewayUrl}; started in {started.Elapsed.TotalSeconds:N1} s");
    await using var probe = probing ? await Probe.StartAsync(harness, await harness.Store.NewestConsumerSeqAsync()) : null;

    var created = new List<double>();
    var revoked = new List<double>();
    var createdAtNodeApi = new List<double>();
    var revokedAtNodeApi = new List<double>();
    var random = new Random(21);
    // With a preload, a key that never changes is asked all along: the node replaces its whole set every 256 batches
    // while serving, and that must not refuse a key it holds.
    using var watching = new CancellationTokenSource();
    var watch = harness.PreloadedKey is { } steadyKey ? Task.Run(() => WatchAsync(steadyKey, watching.Token)) : Task.FromResult((0L, 0L));
    started.Restart();
    for (var i = 0; i < Warmup + samples; i++)
    {
        // A pause of 0-300 ms before each change: changes then fall anywhere in the control plane's 250 ms store check,
        // as they do in use, instead of each one right after the check that carried the previous change.
        await Task.Delay(random.Next(0, 300));
        var (application, key, problem) = await harness.Consumers.CreateApplicationAsync(harness.Account, $"Bench {i}", "", "retail", "bench", CancellationToken.None);
        var committed = Stopwatch.GetTimestamp();
        if (problem is not null)
        {
            throw new InvalidOperationException($"creating application {i} failed: {problem.Detail}");
        }

        var live = await UntilAsync(key, s => s == HttpStatusCode.OK, limit, $"the key of application {application!.Id} (sample {i}) to get 200 from the data node", committed);
        var createSeq = probe is null ? 0 : await harness.Store.NewestConsumerSeqAsync();

        await Task.Delay(random.Next(0, 300));
        var revokeProblem = await harness.Consumers.RevokeKeyAsync(null, application.Id, application.Keys[0].Prefix, "bench", CancellationToken.None);
        var revokedAt = Stopwatch.GetTimestamp();
        if (revokeProblem is not null)
        {
            throw new InvalidOperationException($"revoking the key of application {application.Id} failed: {revokeProblem.Detail}");
        }

        var gone = await UntilAsync(key, s => s is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden, limit,
            $"the revoked key of application {application.Id} (sample {i}) to get 401/403 from the data node", revokedAt);
        if (i < Warmup)
        {
            continue;
        }

        created.Add(live);
        revoked.Add(gone);
        if (probe is not null)
        {
            var revokeSeq = await harness.Store.NewestConsumerSeqAsync();
            AddArrival(createdAtNodeApi, probe.ArrivedAt(createSeq), committed);
            AddArrival(revokedAtNodeApi, probe.ArrivedAt(revokeSeq), revokedAt);
        }
    }

    await watching.CancelAsync();
    var (asked, refused) = await watch;
    Console.WriteLine($"{samples} samples of each in {started.Elapsed.TotalSeconds:N1} s");
    if (harness.PreloadedKey is not null)
    {
        Console.WriteLine($"a preloaded key, asked every 5 ms meanwhile: {asked:N0} answers, {refused:N0} not 200");
    }

    Console.WriteLine(Line("new key      ", created, "creating call returned -> first 200 from the data node"));
    Console.WriteLine(Line("revoked key  ", revoked, "revoking call returned -> first 401/403 from the data node"));
    if (probe is not null)
    {
        Console.WriteLine(Line("  node API, new    ", createdAtNodeApi, "call returned -> the probe's long poll answered with the change"));
        Console.WriteLine(Line("  node API, revoked", revokedAtNodeApi, "call returned -> the probe's long poll answered with the change"));
    }

    var p99 = Math.Max(Percentile(created, 0.99), Percentile(revoked, 0.99));
    Console.WriteLine($"target p99 <= 1000 ms: {(p99 <= 1000 ? "met" : "NOT met")} (worst p99 {p99:N1} ms)");
    Console.WriteLine($"load average after: {LoadAverage()}");
    return 0;
}
catch (TimeoutException e)
{
    Console.WriteLine($"ABORTED: {e.Message}");
    Console.WriteLine($"load average: {LoadAverage()}");
    return 1;
}

// Polls the data node every 2 ms with the key until the answer satisfies 'done'; the milliseconds from 'from'.
async Task<double> UntilAsync(string? key, Func<HttpStatusCode, bool> done, TimeSpan within, string what, long? from = null)
{
    var start = from ?? Stopwatch.GetTimestamp();
    var last = (HttpStatusCode)0;
    while (true)
    {
        using (var request = new HttpRequestMessage(HttpMethod.Get, "/users/1"))
        {
            if (key is not null)
            {
                request.Headers.Add("X-Api-Key", key);
            }

            try
            {
                using var response = await gateway.SendAsync(request);
                await response.Content.ReadAsByteArrayAsync();
                last = response.StatusCode;
            }
            catch (HttpRequestException)
            {
                last = 0;
            }
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        if (done(last))
        {
            return elapsed.TotalMilliseconds;
        }

        if (elapsed > within)
        {
            throw new TimeoutException($"waited {within.TotalSeconds:N0} s for {what}: GET /users/1 still answers {(int)last}");
        }

        await Task.Delay(2);
    }
}

async Task<(long Asked, long Refused)> WatchAsync(string key, CancellationToken stop)
{
    long asked = 0, refused = 0;
    using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(harness.GatewayUrl) };
    client.DefaultRequestHeaders.Add("X-Api-Key", key);
    while (!stop.IsCancellationRequested)
    {
        try
        {
            using var response = await client.GetAsync("/users/1", stop);
            asked++;
            if (response.StatusCode != HttpStatusCode.OK)
            {
                refused++;
                Console.WriteLine($"the preloaded key got {(int)response.StatusCode} at {started.Elapsed.TotalSeconds:N3} s");
            }

            await Task.Delay(5, stop);
        }
        catch (OperationCanceledException)
        {
        }
        catch (HttpRequestException e)
        {
            asked++;
            refused++;
            Console.WriteLine($"the preloaded key got no answer at {started.Elapsed.TotalSeconds:N3} s: {e.Message}");
        }
    }

    return (asked, refused);
}

static void AddArrival(List<double> into, long? arrived, long from)
{
    if (arrived is { } at)
    {
        into.Add(Stopwatch.GetElapsedTime(from, at).TotalMilliseconds);
    }
}

static double Percentile(List<double> values, double p)
{
    if (values.Count == 0)
    {
        return double.NaN;
    }

    var sorted = values.Order().ToArray();
    return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
}

static string Line(string name, List<double> values, string what) =>
    $"{name}: p50 {Percentile(values, 0.5):N1} ms, p90 {Percentile(values, 0.9):N1} ms, p99 {Percentile(values, 0.99):N1} ms, max {(values.Count == 0 ? double.NaN : values.Max()):N1} ms, n {values.Count} ({what})";

static string LoadAverage()
{
    try
    {
        return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "unknown";
    }
}

static string RepositoryRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")))
        {
            return dir.FullName;
        }
    }

    return Directory.GetCurrentDirectory();
}

static string Commit(string root)
{
    try
    {
        var git = Process.Start(new ProcessStartInfo("git", ["-C", root, "describe", "--always", "--dirty", "--abbrev=7"]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var text = git.StandardOutput.ReadToEnd().Trim();
        git.WaitForExit();
        return git.ExitCode == 0 ? text : "unknown";
    }
    catch (System.ComponentModel.Win32Exception)
    {
        return "unknown (no git)";
    }
}
