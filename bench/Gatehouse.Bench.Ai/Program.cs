// AI gateway benchmark (issue 22). In one process: a fake OpenAI-compatible provider on Kestrel that answers at once
// (and, streamed, sends 10 chunks 2 ms apart), and a real gateway (GatewayHost) with an ai service in front of it.
// It measures, one request at a time and with --workers concurrent clients, the same calls direct to the provider and
// through the gateway, interleaved in slices, and reports:
//   - non-streamed latency p50 / p99, and what the gateway adds to each;
//   - streamed: time to the first chunk p50 / p99, and the gap between chunks (p50, mean) as the client sees it.
// The provider, the gateway and the client share the machine (and this process's thread pool): the figures include
// their competition, so they bound the gateway's cost from above rather than isolate it.
//
// With --gateway-cpu=N the gateway is instead a real `gatehouse run` process (the Release build of src/Gatehouse, built
// first) pinned to CPU N with taskset, and this process (client and provider) should be pinned to the other CPUs, so the
// gateway's work no longer takes turns with theirs:
//
//   dotnet run -c Release --project bench/Gatehouse.Bench.Ai -- [requests=2000] [--workers=16]
//   dotnet build -c Release src/Gatehouse && taskset -c 0 dotnet run -c Release --project bench/Gatehouse.Bench.Ai -- 2000 --workers=16 --gateway-cpu=1
//
// --warm=N sets the warm-up rounds before each concurrency (default 300; each round is one direct, one non-streamed and
// one streamed call through the gateway, run at the concurrency about to be measured), and --warm-seconds=S keeps each
// concurrency's warm-up going for S seconds as well. With the gateway alone on one core, the tiered compiler's background
// work (PGO's instrumented tier, then tier 1) arrives for about two minutes after a start, also for code that runs once
// a second or less (Kestrel's heartbeat, the thread pool's gate, the config file check) and for code that only concurrent
// calls reach; each batch of it delays the calls that arrive meanwhile by a scheduler slice (1-7 ms), and the first
// collections move the start-up's objects to older generations (8-15 ms pauses). --warm-seconds=150 measures the
// steady state after them.
// --token-limits gives the plan token limits, so each call is also counted (o200k) and admitted against a budget;
// with --limits-redis=redis://HOST:PORT as well, those budgets are the cluster's, leased from that Redis (sync: strict).
// With --gateway-cpu, the gateway process's CPU time (user and system, from /proc) per call of each form is printed too.
// --slowest=N prints the N slowest streamed calls through the gateway (when, which, time to first chunk).
// --prompt-chars=N sends, with every call, the same system prompt of N characters of words before the user's "hi", as
// an agent resends its instructions, tools and earlier turns with each call (Claude Code's calls are 100-400 KB).
// --responses sends the gateway's calls to OpenAI's Responses API (translated to the provider's chat completions,
// responsesApi: false) instead of chat completions; the direct calls stay chat completions. With --kept as well, the
// service keeps responses (ai.responses) and each client continues its own conversation (previous_response_id) for
// 10 turns, then starts a new one: the cost of keeping the state, against --responses alone. --kept-redis=URL keeps
// them in that Redis (ai.responses.redis) instead of the gateway's memory. --conversations keeps them too, but each client
// makes a conversation (POST /v1/conversations, not timed) and goes on in it (conversation) for 10 turns: the cost of
// conversations against --kept (with --kept-redis=URL as well, in that Redis).
using System.Diagnostics;
using System.Globalization;
using System.Text;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Model.Access;
using Gatehouse.Model.Loading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

var numbers = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
var requests = numbers.Length > 0 ? int.Parse(numbers[0], CultureInfo.InvariantCulture) : 2000;
var warmRounds = int.Parse(args.FirstOrDefault(a => a.StartsWith("--warm=", StringComparison.Ordinal))?["--warm=".Length..] ?? "300", CultureInfo.InvariantCulture);
var warmSeconds = double.Parse(args.FirstOrDefault(a => a.StartsWith("--warm-seconds=", StringComparison.Ordinal))?["--warm-seconds=".Length..] ?? "0", CultureInfo.InvariantCulture);
var slowest = int.Parse(args.FirstOrDefault(a => a.StartsWith("--slowest=", StringComparison.Ordinal))?["--slowest=".Length..] ?? "0", CultureInfo.InvariantCulture);
var tokenLimits = args.Contains("--token-limits");
var promptChars = int.Parse(args.FirstOrDefault(a => a.StartsWith("--prompt-chars=", StringComparison.Ordinal))?["--prompt-chars=".Length..] ?? "0", CultureInfo.InvariantCulture);
var systemMessage = promptChars == 0 ? "" : $$"""{"role":"system","content":"{{AgentPrompt(promptChars)}}"},""";
var streamedBody = Encoding.UTF8.GetBytes($$"""{"model":"fast","stream":true,"messages":[{{systemMessage}}{"role":"user","content":"hi"}]}""");
var wholeBody = Encoding.UTF8.GetBytes($$"""{"model":"fast","messages":[{{systemMessage}}{"role":"user","content":"hi"}]}""");
var limitsRedis = args.FirstOrDefault(a => a.StartsWith("--limits-redis=", StringComparison.Ordinal))?["--limits-redis=".Length..];
var responsesApi = args.Contains("--responses") || args.Contains("--kept") || args.Contains("--conversations") || args.Any(a => a.StartsWith("--kept-redis=", StringComparison.Ordinal));
var keptRedis = args.FirstOrDefault(a => a.StartsWith("--kept-redis=", StringComparison.Ordinal))?["--kept-redis=".Length..];
var conversations = args.Contains("--conversations");
var kept = args.Contains("--kept") || keptRedis is not null || conversations;
var workers = int.Parse(args.FirstOrDefault(a => a.StartsWith("--workers=", StringComparison.Ordinal))?["--workers=".Length..] ?? "16", CultureInfo.InvariantCulture);

const string Completion = """{"id":"chatcmpl-b","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":5,"completion_tokens":1,"total_tokens":6}}""";
var completionBytes = Encoding.UTF8.GetBytes(Completion);

var builder = WebApplication.CreateSlimBuilder();
builder.Logging.ClearProviders();
builder.WebHost.UseUrls("http://127.0.0.1:0");
var provider = builder.Build();
provider.MapPost("/v1/chat/completions", async context =>
{
    using var reader = new StreamReader(context.Request.Body);
    var body = await reader.ReadToEndAsync();
    if (!body.Contains("\"stream\":true", StringComparison.Ordinal))
    {
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = completionBytes.Length;
        await context.Response.Body.WriteAsync(completionBytes);
        return;
    }

    context.Response.ContentType = "text/event-stream";
    for (var i = 0; i < 10; i++)
    {
        if (i > 0)
        {
            await Task.Delay(2);
        }

        await context.Response.WriteAsync($"data: {{\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"w{i}\"}},\"finish_reason\":null}}]}}\n\n");
        await context.Response.Body.FlushAsync();
    }

    await context.Response.WriteAsync("data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":10,\"total_tokens\":15}}\n\ndata: [DONE]\n\n");
});
await provider.StartAsync();
var providerUrl = provider.Urls.First();

var key = ApiKeyHash.NewKey();
var yaml = $$"""
    version: 1
    gateway:
      listeners: [ { url: "http://127.0.0.1:0" } ]{{(limitsRedis is null ? "" : $"\n  limits: {{ redis: \"{limitsRedis}\" }}")}}
    services:
      llm:
        kind: ai
        ai:
          providers: { p: { url: "{{providerUrl}}/v1", responsesApi: false } }
          models: { fast: [ { provider: p, model: m } ] }{{(kept ? $"\n      responses: {{ ttl: 1h{(keptRedis is null ? "" : $", redis: \"{keptRedis}\"")} }}" : "")}}
    routes:
      ai: { path: "/v1/{**rest}", service: llm }
    plans:
      gold: { include: [ { route: ai } ]{{(tokenLimits ? ", tokenLimits: [ { tokens: 1000000000, per: day }, { tokens: 100000000, per: minute, count: completion, model: fast } ]" : "")}} }
    accounts: { a: {} }
    applications:
      app: { account: a, plan: gold, keys: [ { sha256: "{{ApiKeyHash.Sha256Hex(key)}}" } ] }
    """;
using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 1024 });
http.DefaultRequestHeaders.Add("X-Api-Key", key);
var gatewayCpu = args.FirstOrDefault(a => a.StartsWith("--gateway-cpu=", StringComparison.Ordinal))?["--gateway-cpu=".Length..];
GatewayHost? inProcess = null;
Process? process = null;
string gatewayUrl;
if (gatewayCpu is null)
{
    var loaded = ConfigLoader.Load(yaml, Path.GetTempPath(), _ => null);
    inProcess = await GatewayHost.StartAsync(new GatewayHostOptions { Config = loaded.Config!, MinimumLogLevel = LogLevel.Error });
    gatewayUrl = inProcess.Urls[0];
}
else
{
    // --port replaces the first listener's port.
    (process, gatewayUrl) = await StartGatewayProcessAsync(yaml, gatewayCpu);
}

var benchStart = Stopwatch.GetTimestamp();
var slow = new List<(double At, int Index, double First, bool Collected)>();
Console.WriteLine($"provider {providerUrl}, gateway {gatewayUrl}, {requests} requests per form, {Environment.ProcessorCount} cores, {(responsesApi ? kept ? $"Responses API, kept{(keptRedis is null ? "" : " in Redis")}, 10 turns a conversation{(conversations ? " (conversation)" : " (previous_response_id)")}" : "Responses API, stateless" : "chat completions")}, token limits {(tokenLimits ? "on" : "off")}{(limitsRedis is null ? "" : $" (across nodes, through {limitsRedis}: strict leases)")}, started {DateTime.UtcNow:HH:mm:ss.fff} UTC");
foreach (var concurrency in new[] { 1, workers })
{
    await Warm(concurrency);
    var cpu = GatewayCpu();
    var whole = await Interleave(concurrency, requests, stream: false);
    ReportCpu($"non-streamed, {concurrency} at a time", cpu, requests);
    Report($"non-streamed, {concurrency} at a time", whole.Direct.Total, whole.Gateway.Total);
    cpu = GatewayCpu();
    var streamed = await Interleave(concurrency, requests / 4, stream: true);
    ReportCpu($"streamed, {concurrency} at a time", cpu, requests / 4);
    Report($"streamed time to first chunk, {concurrency} at a time", streamed.Direct.First, streamed.Gateway.First);
    Report($"streamed gap between chunks (2 ms at the provider), {concurrency} at a time", streamed.Direct.Gaps, streamed.Gateway.Gaps);
    foreach (var (at, index, first, collected) in slow.OrderByDescending(c => c.First).Take(slowest))
    {
        Console.WriteLine($"  slow: call {index} at {at:F3} s, first chunk after {first:F3} ms{(collected ? ", the bench process collected meanwhile" : "")}");
    }

    slow.Clear();
}

await provider.DisposeAsync();
if (inProcess is not null)
{
    await inProcess.DisposeAsync();
}

if (process is not null)
{
    process.Kill(entireProcessTree: true);
    await process.WaitForExitAsync();
}

// The gateway process's CPU time (user + system) so far, from /proc; -1 in process or where /proc is missing.
double GatewayCpu()
{
    if (process is null || !File.Exists($"/proc/{process.Id}/stat"))
    {
        return -1;
    }

    // Fields 14 and 15 (utime, stime, in clock ticks of 1/100 s) after the command's closing parenthesis.
    var stat = File.ReadAllText($"/proc/{process.Id}/stat");
    var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
    return (long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture)) * 10.0;
}

// The gateway's CPU per call over a measurement (its background work included): steadier than a p99 for finding what a call costs.
void ReportCpu(string what, double before, int calls)
{
    if (before >= 0)
    {
        Console.WriteLine($"{what}: gateway CPU {(GatewayCpu() - before) * 1000 / calls:F1} µs a call ({calls} calls)");
    }
}

// `gatehouse run --config FILE` of the Release build, pinned to one CPU; its URL once it routes (401 without a key).
async Task<(Process, string)> StartGatewayProcessAsync(string config, string cpu)
{
    var root = AppContext.BaseDirectory;
    while (!File.Exists(Path.Combine(root, "Gatehouse.slnx")) && !File.Exists(Path.Combine(root, "Gatehouse.sln")) && Directory.GetParent(root) is { } parent)
    {
        root = parent.FullName;
    }

    var dll = Path.Combine(root, "src", "Gatehouse", "bin", "Release", "net10.0", "gatehouse.dll");
    if (!File.Exists(dll))
    {
        throw new InvalidOperationException($"{dll} is missing: run 'dotnet build -c Release src/Gatehouse' first.");
    }

    var file = Path.Combine(Path.GetTempPath(), $"gatehouse-bench-ai-{Environment.ProcessId}.yaml");
    await File.WriteAllTextAsync(file, config);
    var port = FreePort();
    var start = new ProcessStartInfo("taskset", ["-c", cpu, "dotnet", dll, "run", "--config", file, "--port", port.ToString(CultureInfo.InvariantCulture), "--admin-url", $"http://127.0.0.1:{FreePort()}"])
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    };
    var started = Process.Start(start)!;
    started.OutputDataReceived += (_, _) => { };
    started.ErrorDataReceived += (_, _) => { };
    started.BeginOutputReadLine();
    started.BeginErrorReadLine();
    var url = $"http://127.0.0.1:{port}";
    using var probe = new HttpClient();
    for (var i = 0; i < 300; i++)
    {
        try
        {
            using var answer = await probe.GetAsync(url + "/v1/models");
            return (started, url);
        }
        catch (HttpRequestException)
        {
            await Task.Delay(100);
        }
    }

    started.Kill(entireProcessTree: true);
    throw new InvalidOperationException("the gateway process did not answer in 30 s");
}

static int FreePort()
{
    using var socket = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    socket.Start();
    return ((System.Net.IPEndPoint)socket.LocalEndpoint).Port;
}

// At the concurrency about to be measured, so that what only concurrent calls do (more upstream connections) is warm too.
async Task Warm(int concurrency)
{
    var until = Stopwatch.GetTimestamp() + (long)(warmSeconds * Stopwatch.Frequency);
    var next = 0;
    await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
    {
        var conversation = new Conversation();
        while (Interlocked.Increment(ref next) <= warmRounds || Stopwatch.GetTimestamp() < until)
        {
            await Call(providerUrl, false, conversation);
            await Call(gatewayUrl, false, conversation);
            await Call(gatewayUrl, true, conversation);
        }
    }));
}

// The forms alternate in slices of 50 requests, so that both see the same machine.
async Task<(Samples Direct, Samples Gateway)> Interleave(int concurrency, int count, bool stream)
{
    var direct = new Samples();
    var through = new Samples();
    for (var done = 0; done < count; done += 50)
    {
        foreach (var (url, samples) in new[] { (providerUrl, direct), (gatewayUrl, through) })
        {
            var next = 0;
            await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
            {
                var conversation = new Conversation();
                while (Interlocked.Increment(ref next) <= 50)
                {
                    var one = await Call(url, stream, conversation);
                    samples.Add(one);
                    if (stream && ReferenceEquals(samples, through))
                    {
                        lock (slow)
                        {
                            slow.Add((Stopwatch.GetElapsedTime(benchStart).TotalSeconds, slow.Count, one.First, one.Collected));
                        }
                    }
                }
            }));
        }
    }

    return (direct, through);
}

async Task<(double Total, double First, double[] Gaps, bool Collected)> Call(string baseUrl, bool stream, Conversation conversation)
{
    var collections = GC.CollectionCount(0);
    var responses = responsesApi && baseUrl == gatewayUrl;
    byte[] content;
    if (!responses)
    {
        content = stream ? streamedBody : wholeBody;
    }
    else
    {
        var previous = kept && conversation.Turns++ % 10 != 0 ? conversation.Previous : null;
        string? state = null;
        if (conversations)
        {
            if (previous is null)
            {
                // A new conversation every 10 turns, made before the timed call.
                using var made = await http.PostAsync(baseUrl + "/v1/conversations", new ByteArrayContent("{}"u8.ToArray()) { Headers = { ContentType = new("application/json") } });
                var text = await made.Content.ReadAsStringAsync();
                conversation.Previous = text[(text.IndexOf("conv_", StringComparison.Ordinal))..][..37];
            }

            state = $"\"conversation\":\"{conversation.Previous}\",";
        }
        else if (previous is not null)
        {
            state = $"\"previous_response_id\":\"{previous}\",";
        }

        content = Encoding.UTF8.GetBytes($$"""{"model":"fast",{{(stream ? "\"stream\":true," : "")}}{{state}}"input":"hi"}""");
    }

    var started = Stopwatch.GetTimestamp();
    using var request = new HttpRequestMessage(HttpMethod.Post, baseUrl + (responses ? "/v1/responses" : "/v1/chat/completions"))
    {
        Content = new ByteArrayContent(content) { Headers = { ContentType = new("application/json") } },
    };
    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    await using var body = await response.Content.ReadAsStreamAsync();
    var buffer = new byte[8192];
    double first = 0;
    var collected = false;
    var gaps = new List<double>();
    var last = 0L;
    int read;
    while ((read = await body.ReadAsync(buffer)) > 0)
    {
        var now = Stopwatch.GetTimestamp();
        if (last == 0)
        {
            first = Stopwatch.GetElapsedTime(started, now).TotalMilliseconds;
            collected = GC.CollectionCount(0) != collections;
            if (responses && kept && !conversations)
            {
                // The response's id is in the first bytes: the whole answer, or the stream's response.created event.
                var text = Encoding.UTF8.GetString(buffer, 0, read);
                var at = text.IndexOf("resp_", StringComparison.Ordinal);
                conversation.Previous = at < 0 ? null : text.Substring(at, 37);
            }
        }
        else
        {
            gaps.Add(Stopwatch.GetElapsedTime(last, now).TotalMilliseconds);
        }

        last = now;
    }

    if (!response.IsSuccessStatusCode)
    {
        throw new InvalidOperationException($"{(int)response.StatusCode} from {baseUrl}");
    }

    return (Stopwatch.GetElapsedTime(started).TotalMilliseconds, first, [.. gaps], collected);
}

static void Report(string what, List<double> direct, List<double> gateway)
{
    direct.Sort();
    gateway.Sort();
    double P(List<double> s, double q) => s.Count == 0 ? double.NaN : s[Math.Min(s.Count - 1, (int)(q * s.Count))];
    Console.WriteLine($"{what}: direct p50 {P(direct, 0.5):F3} ms p99 {P(direct, 0.99):F3} ms mean {direct.Average():F3}; " +
        $"gateway p50 {P(gateway, 0.5):F3} ms p99 {P(gateway, 0.99):F3} ms mean {gateway.Average():F3}; " +
        $"added p50 {P(gateway, 0.5) - P(direct, 0.5):F3} ms p99 {P(gateway, 0.99) - P(direct, 0.99):F3} ms");
}

// Words of code and prose, the same every run: what an agent's instructions and history look like to a tokenizer.
static string AgentPrompt(int chars)
{
    string[] words = ["the", "function", "returns", "value", "of", "config", "gateway", "error", "in", "file", "src/main.rs", "let", "x", "=", "42;", "async", "await", "request", "if", "(ok)"];
    var random = new Random(7);
    var text = new StringBuilder(chars + 16);
    while (text.Length < chars)
    {
        text.Append(words[random.Next(words.Length)]).Append(' ');
    }

    return text.ToString(0, chars);
}

// One client's conversation (--kept): the response it continues, and how many calls it made.
internal sealed class Conversation
{
    public string? Previous { get; set; }

    public int Turns { get; set; }
}

internal sealed class Samples
{
    private readonly Lock _lock = new();

    public List<double> Total { get; } = [];

    public List<double> First { get; } = [];

    public List<double> Gaps { get; } = [];

    public void Add((double Total, double First, double[] Gaps, bool Collected) sample)
    {
        lock (_lock)
        {
            Total.Add(sample.Total);
            First.Add(sample.First);
            Gaps.AddRange(sample.Gaps);
        }
    }
}
