// Composition benchmark (issue #4). Starts the demo shop's services in this process, a real `gatehouse run` with
// examples/shop/gatehouse.yaml as a child process, and compares, for the same result (a user's order history):
//   compose:         GET /users/{id}/order-history           (one request; the gateway makes the calls and the answer)
//   client:          GET /users/{id} + GET /orders?userId= (together), then GET /products?ids=… (the client makes
//                    the calls and reads only what it needs to make them)
//   client+assemble: the same calls, and the client builds the same answer as the composition from the three bodies
//                    (the user, each order's items joined with their product, each order's total)
// It reports results per second, the gateway's CPU per result (utime+stime of its process from /proc) and the share of
// it in the kernel, the CPU per result of this process (the client and the backends, which share the machine with the
// gateway), compose's results/s over client+assemble's per round and their median (the issue's rate target), and, with
// one request at a time, the composition's p50 against the sum of the p50s of its critical path's backend calls.
// With --instant the gateway's services are backends that answer instantly: each answer is fetched once from the
// shop's service and then replayed as stored bytes by a socket loop (InstantBackend) in a process of its own, so that
// backend work competes as little as it can with the gateway for the two cores, and its CPU is reported apart from the
// client's. --instant-kestrel replays them from Kestrel apps in this process instead (rounds 1-4 of docs/benchmarks.md;
// about 40 µs of CPU per exchange, twice the socket loop's).
// A fourth form, compose-unshaped, is the same composition with the same three calls but a one-field answer
// ({"status": products' status}): the bodies are still read and parsed (the products call needs the orders), but
// nothing is shaped or written, so it bounds what faster shaping could ever give.
// --client-rtt=MS puts the client at a network distance: each of its requests waits MS milliseconds before it is
// sent (the gateway and its backends stay on loopback, as in one data centre). --only=FORM[,FORM] runs only those forms.
// Each round runs the forms interleaved in slices of --slice=S seconds (default 1), `seconds` of each form in all.
//
//   [GATEHOUSE_DLL=path/gatehouse.dll] dotnet run -c Release --project bench/Gatehouse.Bench.Compose -- [seconds=10] [workers=16] [rounds=3] [--instant|--instant-kestrel] [--client-rtt=MS] [--only=compose,client+assemble] [--slice=S]
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Bench.Compose;
using Gatehouse.Examples.Shop;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

if (args is ["--serve-instant", .. var origins])
{
    // The backends' own process (see --instant): their URLs on one line, then serve until stdin closes.
    var served = origins.Select(InstantBackend.Start).ToList();
    Console.WriteLine(string.Join(' ', served.Select(b => b.Url)));
    await Console.In.ReadToEndAsync();
    foreach (var backend in served)
    {
        await backend.DisposeAsync();
    }

    return;
}

var instantKestrel = args.Contains("--instant-kestrel");
var instant = args.Contains("--instant") || instantKestrel;
var clientRtt = TimeSpan.FromMilliseconds(double.Parse(Option("--client-rtt") ?? "0", CultureInfo.InvariantCulture));
var only = Option("--only")?.Split(',');
var slice = double.Parse(Option("--slice") ?? "1", CultureInfo.InvariantCulture);
var numbers = args.Where(a => !a.StartsWith("--", StringComparison.Ordinal)).ToArray();
var seconds = numbers.Length > 0 ? int.Parse(numbers[0], CultureInfo.InvariantCulture) : 10;
var workers = numbers.Length > 1 ? int.Parse(numbers[1], CultureInfo.InvariantCulture) : 16;
var rounds = numbers.Length > 2 ? int.Parse(numbers[2], CultureInfo.InvariantCulture) : 3;

var root = FindRoot();
await using var users = await ShopServices.StartUsersAsync("http://127.0.0.1:0");
await using var products = await ShopServices.StartProductsAsync("http://127.0.0.1:0");
await using var orders = await ShopServices.StartOrdersAsync("http://127.0.0.1:0");
var (usersUrl, productsUrl, ordersUrl) = (users.Urls.First(), products.Urls.First(), orders.Urls.First());
var replays = new List<IAsyncDisposable>();
Process? backends = null;
if (instantKestrel)
{
    var urls = new List<string>();
    foreach (var url in new[] { usersUrl, productsUrl, ordersUrl })
    {
        var app = await StartReplayAsync(url);
        replays.Add(app);
        urls.Add(app.Urls.First());
    }

    (usersUrl, productsUrl, ordersUrl) = (urls[0], urls[1], urls[2]);
}
else if (instant)
{
    // Their own process, so that their CPU is measured apart from the client's, with completions inline on the
    // socket threads as the gateway runs (the loop never blocks).
    var serve = new ProcessStartInfo("dotnet", [typeof(InstantBackend).Assembly.Location, "--serve-instant", usersUrl, productsUrl, ordersUrl])
    {
        RedirectStandardInput = true,
        RedirectStandardOutput = true,
    };
    serve.Environment["DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS"] = "1";
    backends = Process.Start(serve) ?? throw new InvalidOperationException("cannot start the instant backends");
    var urls = (await backends.StandardOutput.ReadLineAsync())?.Split(' ') ?? [];
    if (urls.Length != 3)
    {
        throw new InvalidOperationException("the instant backends did not start");
    }

    (usersUrl, productsUrl, ordersUrl) = (urls[0], urls[1], urls[2]);
}

Console.WriteLine(!instant ? "backends: the shop's services (in this process)"
    : instantKestrel ? "backends: instant, stored answers replayed by Kestrel apps (in this process)" : "backends: instant, stored answers replayed from a socket loop in their own process");

var key = ApiKeyHash.NewKey();
// GATEHOUSE_DLL runs another build; by default the Release build of this checkout. GATEHOUSE_DLL_B starts a second
// gateway from another build beside it, and every form runs against both, interleaved: an A/B in the same minutes.
var dll = Environment.GetEnvironmentVariable("GATEHOUSE_DLL") ?? Path.Combine(root, "src", "Gatehouse", "bin", "Release", "net10.0", "gatehouse.dll");
var dllB = Environment.GetEnvironmentVariable("GATEHOUSE_DLL_B");
var config = Path.Combine(Path.GetTempPath(), $"gatehouse-bench-compose-{Environment.ProcessId}.yaml");
File.WriteAllText(config, WithUnshapedComposition(File.ReadAllText(Path.Combine(root, "examples", "shop", "gatehouse.yaml"))));
// GATEHOUSE_ENV_B="NAME=VALUE;..." sets environment variables for B only (an A/B of a runtime setting: B's DLL defaults to A's).
var envB = Environment.GetEnvironmentVariable("GATEHOUSE_ENV_B");
dllB ??= envB is null ? null : dll;
var gateways = new List<(Process Process, int Port)> { StartGateway(dll, null) };
if (dllB is not null)
{
    gateways.Add(StartGateway(dllB, envB));
    Console.WriteLine($"A/B: A = {dll}, B = {dllB} {envB}");
}

try
{
    HttpMessageHandler handler = new SocketsHttpHandler { MaxConnectionsPerServer = 1024 };
    if (clientRtt > TimeSpan.Zero)
    {
        handler = new DistantClient(clientRtt, handler);
        Console.WriteLine($"client at a distance: {clientRtt.TotalMilliseconds} ms before each request");
    }

    var clients = gateways.Select(g =>
    {
        var c = new HttpClient(handler, disposeHandler: false) { BaseAddress = new Uri($"http://127.0.0.1:{g.Port}") };
        c.DefaultRequestHeaders.Add("X-Api-Key", key);
        return c;
    }).ToList();
    var http = clients[0];
    foreach (var c in clients)
    {
        await WaitReadyAsync(c);
    }

    using var direct = new HttpClient();

    // Both forms must produce the same data before anything is timed.
    var composed = JsonDocument.Parse(await http.GetStringAsync("/users/1/order-history"));
    var unshaped = await http.GetStringAsync("/users/1/order-history-unshaped");
    if (unshaped != """{"status":200,"user":200}""")
    {
        throw new InvalidOperationException($"the unshaped composition answered {unshaped}");
    }

    var clientSide = await ClientSideAsync(http, 1);
    if (composed.RootElement.GetProperty("orders").GetArrayLength() != clientSide)
    {
        throw new InvalidOperationException("the composition and the client-side calls disagree on the number of orders");
    }

    var assembled = await AssembleAsync(http, 1);
    if (!JsonNode.DeepEquals(JsonNode.Parse(composed.RootElement.GetRawText()), JsonNode.Parse(assembled)))
    {
        throw new InvalidOperationException($"the client's answer differs from the composition's:\n{composed.RootElement.GetRawText()}\n{System.Text.Encoding.UTF8.GetString(assembled)}");
    }

    var forms = clients.SelectMany((c, g) => new (string Name, Func<Task<int>> Run, Process Gateway)[]
    {
        ("compose", () => ComposeAsync(c, 1, "order-history"), gateways[g].Process),
        ("compose-unshaped", () => ComposeAsync(c, 1, "order-history-unshaped"), gateways[g].Process),
        ("client", () => ClientSideAsync(c, 1), gateways[g].Process),
        ("client+assemble", () => ClientAssemblesAsync(c, 1), gateways[g].Process),
    }.Where(f => only is null || only.Contains(f.Name)).Select(f => (Name: g == 0 ? f.Name : f.Name + "@B", f.Run, f.Gateway))).ToArray();
    Console.WriteLine($"warm-up {seconds}s each ...");
    foreach (var (_, run, _) in forms)
    {
        await LoadAsync(run, seconds, workers);
    }

    Console.WriteLine($"| round | form | results/s | gateway CPU µs/result | of it in the kernel | {(backends is null ? "client+backends" : "client")} CPU µs/result | backends CPU µs/result | p50 ms | p99 ms |");
    Console.WriteLine($"|--:|---|--:|--:|--:|--:|--:|--:|--:|");
    // Each round interleaves the forms in slices (rotating which goes first), so that the machine's drift (this is a
    // shared VM: whole 10 s windows differed by 15% back to back) falls on every form alike instead of on whichever
    // ran in the slow window.
    var slices = Math.Max(1, (int)Math.Round(seconds / slice));
    // The issue's rate target, per gateway: compose's results/s over client+assemble's in the same round.
    var ratios = gateways.Select(_ => new List<double>()).ToArray();
    for (var round = 1; round <= rounds; round++)
    {
        var totals = forms.ToDictionary(f => f.Name, _ => (Latencies: new List<double>(), Elapsed: 0.0, Gateway: default(Cpu), Self: 0L, Backends: 0L));
        for (var s = 0; s < slices; s++)
        {
            for (var k = 0; k < forms.Length; k++)
            {
                var (name, run, process) = forms[(s + k) % forms.Length];
                var (gatewayBefore, selfBefore, backendsBefore, started) = (Cpu.Of(process.Id), CpuTicks(Environment.ProcessId), BackendTicks(), Stopwatch.GetTimestamp());
                var latencies = await LoadAsync(run, slice, workers);
                var t = totals[name];
                t.Latencies.AddRange(latencies);
                totals[name] = (t.Latencies, t.Elapsed + Stopwatch.GetElapsedTime(started).TotalSeconds,
                    t.Gateway + (Cpu.Of(process.Id) - gatewayBefore), t.Self + CpuTicks(Environment.ProcessId) - selfBefore, t.Backends + BackendTicks() - backendsBefore);
            }
        }

        foreach (var (name, _, _) in forms)
        {
            var t = totals[name];
            var n = t.Latencies.Count;
            t.Latencies.Sort();
            Console.WriteLine(FormattableString.Invariant(
                $"| {round} | {name} | {n / t.Elapsed:F0} | {t.Gateway.Total * 1e4 / n:F1} | {100.0 * t.Gateway.Kernel / Math.Max(1, t.Gateway.Total):F0}% | {t.Self * 1e4 / n:F1} | {(backends is null ? "-" : (t.Backends * 1e4 / n).ToString("F1", CultureInfo.InvariantCulture))} | {Percentile(t.Latencies, 0.5):F3} | {Percentile(t.Latencies, 0.99):F3} |"));
        }

        for (var g = 0; g < gateways.Count; g++)
        {
            var suffix = g == 0 ? "" : "@B";
            if (totals.TryGetValue("compose" + suffix, out var compose) && totals.TryGetValue("client+assemble" + suffix, out var client))
            {
                ratios[g].Add(compose.Latencies.Count / compose.Elapsed / (client.Latencies.Count / client.Elapsed));
            }
        }
    }

    for (var g = 0; g < gateways.Count; g++)
    {
        if (ratios[g].Count > 0)
        {
            Console.WriteLine(FormattableString.Invariant(
                $"gateway {(g == 0 ? "A" : "B")}: compose ÷ client+assemble results/s, per round {string.Join(" / ", ratios[g].Select(r => r.ToString("F2", CultureInfo.InvariantCulture)))}; median {Median(ratios[g]):F2}×"));
        }
    }

    // Memory after the load: resident now and at peak (VmRSS, VmHWM), per gateway.
    foreach (var (process, _) in gateways)
    {
        var status = File.ReadAllLines($"/proc/{process.Id}/status");
        string Kb(string field) => status.First(l => l.StartsWith(field, StringComparison.Ordinal)).Split(':')[1].Trim();
        Console.WriteLine($"gateway {(process == gateways[0].Process ? "A" : "B")} memory: resident {Kb("VmRSS")}, peak {Kb("VmHWM")}");
    }

    // Unloaded latency: one request at a time.
    var p50Compose = Median(await LoadAsync(() => ComposeAsync(http, 1, "order-history"), seconds, 1));
    var p50Users = Median(await LoadAsync(() => GetAsync(direct, $"{usersUrl}/users/1"), seconds, 1));
    var p50Orders = Median(await LoadAsync(() => GetAsync(direct, $"{ordersUrl}/orders?userId=1"), seconds, 1));
    var p50Products = Median(await LoadAsync(() => GetAsync(direct, $"{productsUrl}/products?ids=1,2,3"), seconds, 1));
    var critical = Math.Max(p50Users, p50Orders) + p50Products;
    Console.WriteLine(FormattableString.Invariant(
        $"one at a time: composition p50 {p50Compose:F3} ms; critical path of direct backend calls max(users {p50Users:F3}, orders {p50Orders:F3}) + products {p50Products:F3} = {critical:F3} ms; overhead {p50Compose - critical:F3} ms"));
}
finally
{
    foreach (var (process, _) in gateways)
    {
        process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
        process.Dispose();
    }

    foreach (var replay in replays)
    {
        await replay.DisposeAsync();
    }

    if (backends is not null)
    {
        backends.StandardInput.Close();
        if (!backends.WaitForExit(5000))
        {
            backends.Kill();
        }

        backends.Dispose();
    }

    File.Delete(config);
}

(Process, int) StartGateway(string path, string? env)
{
    var port = FreePort();
    var start = new ProcessStartInfo("dotnet", [path, "run", "--config", config, "--port", port.ToString(CultureInfo.InvariantCulture)])
    {
        RedirectStandardOutput = true,
        RedirectStandardError = true,
    };
    start.Environment["SHOP_USERS_URL"] = usersUrl;
    start.Environment["SHOP_PRODUCTS_URL"] = productsUrl;
    start.Environment["SHOP_ORDERS_URL"] = ordersUrl;
    start.Environment["DEMO_INTERNAL_KEY_SHA256"] = ApiKeyHash.Sha256Hex(key);
    start.Environment["DEMO_SERVICE_API_URL"] = "http://127.0.0.1:0";
    foreach (var setting in env?.Split(';', StringSplitOptions.RemoveEmptyEntries) ?? [])
    {
        var (name, value) = (setting[..setting.IndexOf('=')], setting[(setting.IndexOf('=') + 1)..]);
        start.Environment[name] = value;
    }

    var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot start {path}");
    _ = process.StandardOutput.ReadToEndAsync();
    _ = process.StandardError.ReadToEndAsync();
    return (process, port);
}

long BackendTicks() => backends is null ? 0 : CpuTicks(backends.Id);

string? Option(string name) => args.FirstOrDefault(a => a.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];

// The shop's config with a second composition: the order history's steps, but an answer of one field.
static string WithUnshapedComposition(string yaml)
{
    const string Anchor = "\ncompositions:\n";
    var at = yaml.IndexOf(Anchor, StringComparison.Ordinal);
    if (at < 0)
    {
        throw new InvalidOperationException("examples/shop/gatehouse.yaml has no top-level compositions: section");
    }

    const string Unshaped = """
          order-history-unshaped:
            path: "/users/{id}/order-history-unshaped"
            steps:
              user:     { operation: users.getUser, params: { id: "@request.path.id" }, statusMap: { 404: 404 } }
              orders:   { operation: orders.listOrders, query: { userId: "@request.path.id" } }
              products:
                operation: products.listProducts
                forEach: "@orders.body[*].items[*].productId"
                batch: { param: ids, separator: ",", key: id }
            response: { status: "@products.status", user: "@user.status" }

        """;
    return yaml.Insert(at + Anchor.Length, Unshaped);
}

// Every form reads its bodies the same way, as bytes (GetByteArrayAsync, which also fails on a non-success status).
static async Task<int> ComposeAsync(HttpClient http, int user, string composition) =>
    (await http.GetByteArrayAsync($"/users/{user}/{composition}")).Length > 0 ? 1 : 0;

// What a client does without the composition: user and orders together, then the distinct products in one call.
static async Task<int> ClientSideAsync(HttpClient http, int user)
{
    var userTask = http.GetByteArrayAsync($"/users/{user}");
    var ordersTask = http.GetByteArrayAsync($"/orders?userId={user}");
    await Task.WhenAll(userTask, ordersTask);
    using var ordersJson = JsonDocument.Parse(ordersTask.Result);
    var ids = ordersJson.RootElement.EnumerateArray()
        .SelectMany(o => o.GetProperty("items").EnumerateArray().Select(i => i.GetProperty("productId").GetInt32()))
        .Distinct().ToList();
    if (ids.Count > 0)
    {
        await http.GetByteArrayAsync($"/products?ids={string.Join(',', ids)}");
    }

    return ordersJson.RootElement.GetArrayLength();
}

static async Task<int> ClientAssemblesAsync(HttpClient http, int user) => (await AssembleAsync(http, user)).Length > 0 ? 1 : 0;

// The client form that ends with the composition's answer: the same three calls, then the join and the totals.
static async Task<byte[]> AssembleAsync(HttpClient http, int user)
{
    var userTask = http.GetByteArrayAsync($"/users/{user}");
    var ordersTask = http.GetByteArrayAsync($"/orders?userId={user}");
    await Task.WhenAll(userTask, ordersTask);
    var orders = JsonNode.Parse(ordersTask.Result)!.AsArray();
    var ids = orders.SelectMany(o => o!["items"]!.AsArray().Select(i => (long)i!["productId"]!)).Distinct().ToList();
    var products = new Dictionary<long, JsonNode>();
    if (ids.Count > 0)
    {
        foreach (var p in JsonNode.Parse(await http.GetByteArrayAsync($"/products?ids={string.Join(',', ids)}"))!.AsArray())
        {
            products[(long)p!["id"]!] = p;
        }
    }

    var answer = new JsonArray();
    foreach (var order in orders)
    {
        var items = new JsonArray();
        var total = 0m;
        foreach (var item in order!["items"]!.AsArray())
        {
            var copy = item!.DeepClone().AsObject();
            JsonObject? product = null;
            if (products.TryGetValue((long)item["productId"]!, out var p))
            {
                product = new JsonObject { ["id"] = p["id"]!.DeepClone(), ["name"] = p["name"]!.DeepClone(), ["price"] = p["price"]!.DeepClone() };
                total += (decimal)item["quantity"]! * (decimal)p["price"]!;
            }

            copy["product"] = product;
            items.Add(copy);
        }

        answer.Add(new JsonObject { ["id"] = order["id"]!.DeepClone(), ["items"] = items, ["total"] = total });
    }

    return JsonSerializer.SerializeToUtf8Bytes(new JsonObject { ["user"] = JsonNode.Parse(userTask.Result), ["orders"] = answer });
}

// A backend that answers instantly: each path and query is fetched once from the real service, then its status,
// content type and body are replayed from memory.
static async Task<WebApplication> StartReplayAsync(string origin)
{
    var builder = WebApplication.CreateSlimBuilder();
    builder.Logging.ClearProviders();
    builder.WebHost.ConfigureKestrel(k => { k.AddServerHeader = false; k.Listen(IPAddress.Loopback, 0); });
    var app = builder.Build();
    var fetch = new HttpClient { BaseAddress = new Uri(origin) };
    var answers = new ConcurrentDictionary<string, Task<(int Status, string? Type, byte[] Body)>>();
    app.Run(async context =>
    {
        var target = context.Request.Path + context.Request.QueryString;
        var (status, type, body) = await answers.GetOrAdd(target, async t =>
        {
            using var r = await fetch.GetAsync(t);
            return ((int)r.StatusCode, r.Content.Headers.ContentType?.ToString(), await r.Content.ReadAsByteArrayAsync());
        });
        context.Response.StatusCode = status;
        context.Response.ContentType = type;
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body);
    });
    await app.StartAsync();
    return app;
}

static async Task<int> GetAsync(HttpClient http, string url)
{
    using var response = await http.GetAsync(url);
    response.EnsureSuccessStatusCode();
    await response.Content.ReadAsByteArrayAsync();
    return 1;
}

// Every request's latency in ms, from `workers` loops that start requests for `seconds`.
static async Task<List<double>> LoadAsync(Func<Task<int>> run, double seconds, int workers)
{
    var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
    var latencies = new List<double>[workers];
    await Task.WhenAll(Enumerable.Range(0, workers).Select(async w =>
    {
        var mine = latencies[w] = [];
        while (Stopwatch.GetTimestamp() < until)
        {
            var t = Stopwatch.GetTimestamp();
            await run();
            mine.Add(Stopwatch.GetElapsedTime(t).TotalMilliseconds);
        }
    }));
    return [.. latencies.SelectMany(l => l)];
}

static double Median(List<double> latencies)
{
    latencies.Sort();
    return Percentile(latencies, 0.5);
}

static double Percentile(List<double> sorted, double q) => sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * q))];

static long CpuTicks(int pid) => Cpu.Of(pid).Total;

static int FreePort()
{
    using var listener = new TcpListener(IPAddress.Loopback, 0);
    listener.Start();
    return ((IPEndPoint)listener.LocalEndpoint).Port;
}

static async Task WaitReadyAsync(HttpClient http)
{
    for (var i = 0; i < 300; i++)
    {
        try
        {
            using var r = await http.GetAsync("/users/1");
            if (r.IsSuccessStatusCode)
            {
                return;
            }
        }
        catch (HttpRequestException)
        {
        }

        await Task.Delay(100);
    }

    throw new InvalidOperationException("gatehouse did not become ready in 30 s");
}

static string FindRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
    {
        if (File.Exists(Path.Combine(dir.FullName, "Gatehouse.slnx")))
        {
            return dir.FullName;
        }
    }

    throw new InvalidOperationException("run from inside the repository");
}

// A client at a network distance: each request waits before it goes out, as it would on its way to a remote gateway.
internal sealed class DistantClient(TimeSpan delay, HttpMessageHandler inner) : DelegatingHandler(inner)
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        await Task.Delay(delay, cancellationToken);
        return await base.SendAsync(request, cancellationToken);
    }
}

/// <summary>A process's CPU time in clock ticks: in user mode and in the kernel (on loopback, a send also delivers).</summary>
internal readonly record struct Cpu(long User, long Kernel)
{
    public long Total => User + Kernel;

    public static Cpu operator +(Cpu a, Cpu b) => new(a.User + b.User, a.Kernel + b.Kernel);

    public static Cpu operator -(Cpu a, Cpu b) => new(a.User - b.User, a.Kernel - b.Kernel);

    public static Cpu Of(int pid)
    {
        // /proc/PID/stat: fields 14 and 15 (utime, stime), after the ')' that ends the command name.
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return new(long.Parse(fields[11], CultureInfo.InvariantCulture), long.Parse(fields[12], CultureInfo.InvariantCulture));
    }
}
