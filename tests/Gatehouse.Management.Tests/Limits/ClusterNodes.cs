using System.Net;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Limiting.Cluster;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Gatehouse.Model.Limits;
using Gatehouse.Model.Loading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Limits;

/// <summary>
/// Three real gateway nodes (Kestrel on loopback, each with its own runtime, counters and engine connection) in front
/// of one real backend, sharing one counter engine: Redis (a redis-server of the test's) or PostgreSQL (each node its
/// own store on one database). They share one manual clock, so a window and a sync round are steps the test takes:
/// the counts per window are exact, and a sync interval is what the test says it is.
/// </summary>
internal sealed class ClusterNodes : IAsyncDisposable
{
    public const string RateKey = "ghk_cluster-rate-key";
    public const string QuotaKey = "ghk_cluster-quota-key";

    /// <summary>
    /// The engine timeout of the tests that stop the engine, where it is part of what is tested (an engine that is gone
    /// is noticed within it). Every other test has 10 s: a busy machine's slow answer must not read as an outage there.
    /// </summary>
    public const string OutageEngineTimeout = "500ms";

    private readonly WebApplication _backend;
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly List<HttpClient> _clients = [];
    private int _next;
    private Func<string, Gatehouse.Model.Config.GatehouseConfig> _yaml = null!;

    private ClusterNodes(WebApplication backend, FakeTime time) => (_backend, Time) = (backend, time);

    public FakeTime Time { get; }

    /// <summary>What the nodes logged (an engine outage is one warning and one line when it is back, per node).</summary>
    public CapturingLoggerProvider Logs { get; } = new();

    public List<GatewayHost> Nodes { get; } = [];

    public IEnumerable<ClusterLimiter> Limiters => Nodes.Select(n => n.Runtime.Counters.Cluster!);

    /// <summary>
    /// Starts the backend and three nodes with <paramref name="plans"/> as the config's <c>plans:</c> body (plans
    /// <c>rate</c> and <c>quota</c>, with applications of <see cref="RateKey"/> and <see cref="QuotaKey"/>).
    /// <paramref name="redis"/> or <paramref name="postgres"/> is the engine.
    /// </summary>
    /// <paramref name="modelProvider"/>, when given, is an OpenAI-compatible provider's base URL: the nodes then also serve
    /// alias <c>m</c> of an <c>ai</c> service at route <c>ai</c> (<c>/v1/…</c>).
    public static async Task<ClusterNodes> StartAsync(string plans, RedisServer? redis = null, string? postgres = null, string engineTimeout = "10s", string? modelProvider = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var backend = builder.Build();
        backend.Run(context => context.Response.WriteAsync("ok"));
        await backend.StartAsync();

        // Whole seconds of real time now or later: the engine's expiry times are real (Redis forgets a key whose expiry
        // has passed), so the manual clock must not lag the real one.
        var start = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1);
        var nodes = new ClusterNodes(backend, new FakeTime(start));
        nodes._yaml = plans => Config($$"""
            version: 1
            gateway:
              listeners: [{ url: "http://127.0.0.1:0" }]
              {{(redis is null ? "" : $"limits: {{ redis: \"{redis.Configuration}\", syncInterval: 200ms, timeout: {engineTimeout} }}")}}
              {{(redis is null ? $"limits: {{ syncInterval: 200ms, timeout: {engineTimeout} }}" : "")}}
            services:
              backend: { targets: ["{{backend.Urls.First()}}"] }
              {{(modelProvider is null ? "" : $"llm: {{ kind: ai, ai: {{ providers: {{ p: {{ url: \"{modelProvider}\" }} }}, models: {{ m: [ {{ provider: p, model: gpt-test }} ] }} }} }}")}}
            routes:
              hello: { path: /hello, service: backend }
              {{(modelProvider is null ? "" : "ai: { path: \"/v1/{**rest}\", service: llm }")}}
            plans:
            {{plans}}
            accounts:
              acme: {}
            applications:
              r: { account: acme, plan: rate, keys: [{ sha256: {{ApiKeyHash.Sha256Hex(RateKey)}} }] }
              q: { account: acme, plan: quota, keys: [{ sha256: {{ApiKeyHash.Sha256Hex(QuotaKey)}} }] }
            """);
        var config = nodes._yaml(plans);
        for (var i = 0; i < 3; i++)
        {
            ILimitEngine? engine = null;
            if (postgres is not null)
            {
                var store = await Gatehouse.Management.Stores.ConfigStores.OpenAsync(postgres, TimeProvider.System);
                nodes._owned.Add(store);
                engine = (ILimitEngine)store;
            }

            var node = await GatewayHost.StartAsync(new GatewayHostOptions
            {
                Config = config,
                LimitEngine = engine,
                NodeId = $"node-{i}",
                Time = nodes.Time,
                MetricsOnAdmin = true,
                ConfigureLogging = logging =>
                {
                    logging.ClearProviders();
                    logging.AddProvider(nodes.Logs);
                },
            });
            nodes.Nodes.Add(node);
            nodes._clients.Add(new HttpClient { BaseAddress = new Uri(node.Urls[0]), Timeout = TimeSpan.FromSeconds(30) });
        }

        // Every node has reported itself: the next round tells each of them that there are three.
        await nodes.StepAsync(TimeSpan.FromSeconds(1));
        Assert.True(nodes.Limiters.All(l => l.NodeCount == 3), string.Join("\n", nodes.Logs.Entries.Select(e => e.Message)));
        return nodes;
    }

    /// <summary>Applies the config of <see cref="StartAsync"/> with <paramref name="plans"/> as its plans to every node, as a reload does.</summary>
    public void Reload(string plans)
    {
        var config = _yaml(plans);
        foreach (var node in Nodes)
        {
            var errors = node.Runtime.Apply(config);
            Assert.True(errors.Count == 0, string.Join("\n", errors));
        }
    }

    private static Gatehouse.Model.Config.GatehouseConfig Config(string yaml)
    {
        var loaded = ConfigLoader.Load(yaml, AppContext.BaseDirectory, _ => null);
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        return loaded.Config!;
    }

    /// <summary>Moves the clock on by <paramref name="by"/> and waits until every node's loop has run the round that starts.</summary>
    public async Task StepAsync(TimeSpan by)
    {
        var before = Limiters.Select(l => l.Rounds).ToArray();
        Time.Advance(by);
        await Wait.UntilAsync(() => Limiters.Select((l, i) => l.Rounds > before[i]).All(x => x), "a round of every node's cluster loop");
    }

    /// <summary>A chat call of alias <c>m</c> with <paramref name="key"/> through node <paramref name="node"/> (at most 5 completion tokens); its status.</summary>
    public async Task<HttpStatusCode> ChatAsync(int node, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Api-Key", key);
        using var response = await _clients[node].SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Sends <paramref name="count"/> requests at once, spread round robin over the nodes.</summary>
    public async Task<List<(int Node, HttpStatusCode Status, string? RateLimit)>> BurstAsync(string key, int count)
    {
        var calls = Enumerable.Range(0, count).Select(async _ =>
        {
            var node = Interlocked.Increment(ref _next) % Nodes.Count;
            using var request = new HttpRequestMessage(HttpMethod.Get, "/hello");
            request.Headers.Add("X-Api-Key", key);
            using var response = await _clients[node].SendAsync(request);
            return (node, response.StatusCode, response.Headers.TryGetValues("RateLimit", out var values) ? values.Single() : null);
        });
        return [.. await Task.WhenAll(calls)];
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        foreach (var owned in _owned)
        {
            await owned.DisposeAsync();
        }

        await _backend.DisposeAsync();
    }
}
