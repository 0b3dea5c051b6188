// The composition answer's CPU and allocation, in process. Starts the demo shop's three services here, loads
// examples/shop/gatehouse.yaml (its operations imported from the services' OpenAPI documents, as `gatehouse run` does),
// fetches the bodies the order-history composition's steps get for one user, then shapes the response template over
// them again and again as CompositionRun does:
//   element-write: ElementEvaluator.Write over the bodies parsed once into JsonDocuments (the shaping alone)
//   full-element: the three raw bodies parsed with the gateway's JsonDocumentBodyReader, then ElementEvaluator.Write,
//     documents disposed (the whole JSON work per answer)
// Per round: warm-up iterations, then timed ones; µs per iteration and bytes allocated per iteration
// (GC.GetAllocatedBytesForCurrentThread), and the medians over the rounds. An A/B runs it on two checkouts.
//
//   dotnet run -c Release --project bench/Gatehouse.Bench.ComposeJson -- [userId=1] [rounds=5] [iterations=20000] [warmup=5000]
using System.Buffers;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Examples.Shop;
using Gatehouse.Gateway.Composition;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Operations;

var userId = args.Length > 0 ? args[0] : "1";
var rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
var iterations = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 20_000;
var warmup = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 5_000;

var (template, raw) = await SetUpAsync(userId);

// Each body parsed once into a JsonDocument, a step as {status, headers, body}.
const int MaxBytes = 1 << 20, MaxDepth = 64, MaxItems = 1000; // the composition defaults order-history runs with
static ElementValue Envelope(JsonElement? body) => ElementValue.Fields(
[
    new("status", ElementValue.Number("200")),
    new("headers", ElementValue.Fields([])),
    new("body", body is { } b ? ElementValue.Of(b) : ElementValue.Null),
]);

var documents = raw.ToDictionary(r => r.Key, r => JsonDocument.Parse(r.Value));
var elementSteps = documents.ToDictionary(d => d.Key, d => Envelope(d.Value.RootElement));
ElementValue ElementRoot(Dictionary<string, ElementValue> from, ValueRef r, out int consumed)
{
    consumed = 0;
    if (r.Root != "request")
    {
        return from.GetValueOrDefault(r.Root);
    }

    consumed = r.Segments.Count;
    return r.Segments[0].Name == "path" ? ElementValue.String(userId) : ElementValue.Null;
}

var buffer = new ArrayBufferWriter<byte>(4096);
var writer = new Utf8JsonWriter(buffer);
var ways = new List<(string Name, Action Run)>
{
    ("element-write", () =>
    {
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        new ElementEvaluator((ValueRef r, out int consumed) => ElementRoot(elementSteps, r, out consumed)).Write(template, writer);
        writer.Flush();
    }),
    ("full-element", () =>
    {
        var bodies = new List<JsonDocumentBody>(raw.Count);
        var parsed = new Dictionary<string, ElementValue>(raw.Count);
        try
        {
            foreach (var (name, bytes) in raw)
            {
                var body = JsonDocumentBodyReader.ReadAsync(new ByteArrayContent(bytes), name, MaxBytes, MaxDepth, MaxItems, CancellationToken.None).GetAwaiter().GetResult();
                if (body is not null)
                {
                    bodies.Add(body);
                }

                parsed[name] = Envelope(body?.Root);
            }

            buffer.ResetWrittenCount();
            writer.Reset(buffer);
            new ElementEvaluator((ValueRef r, out int consumed) => ElementRoot(parsed, r, out consumed)).Write(template, writer);
            writer.Flush();
        }
        finally
        {
            foreach (var body in bodies)
            {
                body.Dispose();
            }
        }
    }),
};

// Every way must give the same bytes before anything is timed.
string? answer = null;
foreach (var (name, run) in ways)
{
    run();
    var text = System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan);
    if (answer is not null && text != answer)
    {
        throw new InvalidOperationException($"'{name}' wrote a different answer:\n{text}\nnot\n{answer}");
    }

    answer = text;
}

Console.WriteLine($"order-history of user {userId}: {answer!.Length} bytes, {JsonNode.Parse(answer)!["orders"]!.AsArray().Count} orders; {rounds} rounds of {warmup} warm-up + {iterations} timed iterations per way");
Console.WriteLine("| round | way | µs/iteration | bytes allocated/iteration |");
Console.WriteLine("|--:|---|--:|--:|");
var results = ways.ToDictionary(w => w.Name, _ => new List<(double Us, double Bytes)>());
for (var round = 1; round <= rounds; round++)
{
    foreach (var (name, run) in ways)
    {
        for (var i = 0; i < warmup; i++)
        {
            run();
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread();
        var started = Stopwatch.GetTimestamp();
        for (var i = 0; i < iterations; i++)
        {
            run();
        }

        var us = Stopwatch.GetElapsedTime(started).TotalMicroseconds / iterations;
        var bytes = (GC.GetAllocatedBytesForCurrentThread() - allocated) / (double)iterations;
        results[name].Add((us, bytes));
        Console.WriteLine(FormattableString.Invariant($"| {round} | {name} | {us:F2} | {bytes:F0} |"));
    }
}

Console.WriteLine();
Console.WriteLine("| way | median µs/iteration | median bytes allocated/iteration |");
Console.WriteLine("|---|--:|--:|");
foreach (var (name, list) in results)
{
    Console.WriteLine(FormattableString.Invariant($"| {name} | {Median(list.Select(r => r.Us)):F2} | {Median(list.Select(r => r.Bytes)):F0} |"));
}

static double Median(IEnumerable<double> values)
{
    var sorted = values.Order().ToArray();
    return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[sorted.Length / 2 - 1] + sorted[sorted.Length / 2]) / 2;
}

static async Task<(Template Template, Dictionary<string, byte[]> Raw)> SetUpAsync(string userId)
{
    var root = FindRoot();
    await using var users = await ShopServices.StartUsersAsync("http://127.0.0.1:0");
    await using var products = await ShopServices.StartProductsAsync("http://127.0.0.1:0");
    await using var orders = await ShopServices.StartOrdersAsync("http://127.0.0.1:0");
    var env = new Dictionary<string, string>
    {
        ["SHOP_USERS_URL"] = users.Urls.First(),
        ["SHOP_PRODUCTS_URL"] = products.Urls.First(),
        ["SHOP_ORDERS_URL"] = orders.Urls.First(),
    };
    var loaded = ConfigLoader.LoadFile(Path.Combine(root, "examples", "shop", "gatehouse.yaml"), name => env.GetValueOrDefault(name));
    if (!loaded.IsValid)
    {
        throw new InvalidOperationException("the shop's config does not load:\n" + string.Join("\n", loaded.Errors));
    }

    var config = loaded.Config!;
    var errors = new List<(string Path, string Message)>();
    var compiled = CompositionCompiler.Compile("order-history", config.Compositions["order-history"], config, OperationIndex.Build(config), errors)
        ?? throw new InvalidOperationException("order-history does not compile: " + string.Join("; ", errors));

    // The bodies the steps get; products in one batched call, as its step makes it.
    using var http = new HttpClient();
    var raw = new Dictionary<string, byte[]>();
    async Task<JsonDocument> StepAsync(string name, string url)
    {
        using var response = await http.GetAsync(url);
        response.EnsureSuccessStatusCode();
        raw[name] = await response.Content.ReadAsByteArrayAsync();
        return JsonDocument.Parse(raw[name]);
    }

    using var user = await StepAsync("user", $"{env["SHOP_USERS_URL"]}/users/{userId}");
    using var orderList = await StepAsync("orders", $"{env["SHOP_ORDERS_URL"]}/orders?userId={userId}");
    var ids = orderList.RootElement.EnumerateArray().SelectMany(o => o.GetProperty("items").EnumerateArray()).Select(i => ElementValue.Of(i.GetProperty("productId")).Key()).Distinct();
    using var productList = await StepAsync("products", $"{env["SHOP_PRODUCTS_URL"]}/products?ids={string.Join(",", ids)}");
    return (compiled.Response, raw);
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

    throw new InvalidOperationException("Gatehouse.slnx not found above " + AppContext.BaseDirectory);
}
