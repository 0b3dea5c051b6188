using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Analytics;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Admin;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Gatehouse.Model.Usage;
using Microsoft.Data.Sqlite;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>
/// Issue 22, item 3: model calls through real gateway nodes (in front of the fake OpenAI provider of the AI tests) land in a
/// real store as tokens and cost per application, plan and model, and the analytics API answers them exactly.
/// </summary>
[Trait("Issue", "22")]
public abstract class AiUsageAnalyticsTests
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 10, TimeSpan.Zero);

    private static readonly string GoldKey = ApiKeyHash.NewKey();

    private static readonly string SilverKey = ApiKeyHash.NewKey();

    protected abstract Task<string> CreateEmptyStoreAsync();

    // 'priced' falls back from p0 (made to fail) to p1's gpt-test at 0.15 and 0.60 per million tokens; 'free' has no price.
    // gold has a token limit, so the gateway counts the text of a cut stream for an estimate.
    private static string Yaml(FakeProvider p0, FakeProvider p1) => $$"""
        version: 1
        gateway:
          observability:
            usage: { flushInterval: 5m }
        services:
          llm:
            kind: ai
            ai:
              providers:
                p0: { url: "{{p0.BaseUrl}}", timeout: 10s }
                p1: { url: "{{p1.BaseUrl}}", timeout: 10s }
              models:
                priced: [ { provider: p0, model: never-answers, price: { prompt: 100, completion: 100 } }, { provider: p1, model: gpt-test, price: { prompt: 0.15, completion: 0.6 } } ]
                free: [ { provider: p1, model: local-test } ]
        routes:
          ai: { path: "/v1/{**rest}", service: llm }
        plans:
          gold:
            include: [ { route: ai, access: read } ]
            tokenLimits: [ { tokens: 1000000, per: day } ]
          silver:
            include: [ { route: ai, access: read } ]
        accounts: { acme: {} }
        applications:
          gold-app: { account: acme, plan: gold, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(GoldKey)}} } ] }
          silver-app: { account: acme, plan: silver, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(SilverKey)}} } ] }
        """;

    [Fact]
    public async Task ModelCalls_OnTwoNodes_WholeAndStreamed_AreExactTokensAndCostPerApplicationModelAndNode()
    {
        var connection = await CreateEmptyStoreAsync();
        var time = new FakeTime(Start);
        await using var p0 = await FakeProvider.StartAsync();
        await using var p1 = await FakeProvider.StartAsync();
        p0.Fault = FakeFault.ServerError;
        await using var a = await UsageNode.StartAsync(connection, "node-a", Yaml(p0, p1), time);
        await using var b = await UsageNode.StartAsync(connection, "node-b", Yaml(p0, p1), time);

        // The fake reports 7 prompt and 5 completion tokens a call. gold-app: five calls of 'priced', answered by gpt-test.
        await ChatAsync(a, GoldKey, "priced", stream: false);
        await ChatAsync(a, GoldKey, "priced", stream: false);
        await ChatAsync(a, GoldKey, "priced", stream: true);
        await ChatAsync(b, GoldKey, "priced", stream: true);
        await ChatAsync(b, GoldKey, "priced", stream: false);
        // silver-app: four calls of 'free', two on each node, streamed and not.
        await ChatAsync(a, SilverKey, "free", stream: true);
        await ChatAsync(a, SilverKey, "free", stream: false);
        await ChatAsync(b, SilverKey, "free", stream: true);
        await ChatAsync(b, SilverKey, "free", stream: false);
        // A call that no provider answers uses nothing.
        p1.Fault = FakeFault.ServerError;
        await ChatAsync(a, GoldKey, "free", stream: false, HttpStatusCode.BadGateway);
        p1.Fault = FakeFault.None;
        await FlushUntilAsync(connection, time, 9, a, b);

        await using var admin = await AdminHarness.StartAsync(connection, now: Start.AddMinutes(5));
        var range = "from=2026-03-01T12:00:00Z&to=2026-03-01T12:05:00Z";
        var byModel = await GetAsync(admin, $"/admin/analytics/ai?{range}&granularity=minute&groupBy=application,model");
        var series = byModel["series"]!.AsArray();
        Assert.Equal(2, series.Count);
        Assert.False((bool)byModel["truncated"]!);
        // The series with the most tokens first.
        Assert.Equal(("gold-app", "gpt-test"), ((string)series[0]!["group"]!["application"]!, (string)series[0]!["group"]!["model"]!));
        var gold = series[0]!["total"]!;
        Assert.Equal((5L, 35L, 25L, 60L, 0L), ((long)gold["calls"]!, (long)gold["promptTokens"]!, (long)gold["completionTokens"]!, (long)gold["totalTokens"]!, (long)gold["estimatedCalls"]!));
        // (7 × 0.15 + 5 × 0.60) per million tokens = 4,050 nano-units a call.
        Assert.Equal(5 * 4_050L, (long)gold["costNanos"]!);
        Assert.Equal(0.00002025m, (decimal)gold["cost"]!);
        Assert.Equal(("silver-app", "local-test"), ((string)series[1]!["group"]!["application"]!, (string)series[1]!["group"]!["model"]!));
        var silver = series[1]!["total"]!;
        Assert.Equal((4L, 28L, 20L, 48L, 0L), ((long)silver["calls"]!, (long)silver["promptTokens"]!, (long)silver["completionTokens"]!, (long)silver["totalTokens"]!, (long)silver["costNanos"]!));

        // The nodes add up, at every granularity.
        foreach (var granularity in new[] { "minute", "hour", "day" })
        {
            var byNode = await GetAsync(admin, $"/admin/analytics/ai?from=2026-03-01T00:00:00Z&to=2026-03-02T00:00:00Z&granularity={granularity}&groupBy=node");
            var nodes = byNode["series"]!.AsArray().ToDictionary(s => (string)s!["group"]!["node"]!, s => ((long)s!["total"]!["calls"]!, (long)s!["total"]!["totalTokens"]!, (long)s!["total"]!["costNanos"]!));
            Assert.Equal((5L, 60L, 3 * 4_050L), nodes["node-a"]);
            Assert.Equal((4L, 48L, 2 * 4_050L), nodes["node-b"]);
        }

        // Filters and the other dimensions: the plan and the provider that answered (never p0, which failed).
        var filtered = await GetAsync(admin, $"/admin/analytics/ai?{range}&groupBy=plan,alias,provider&plan=gold");
        var only = Assert.Single(filtered["series"]!.AsArray());
        Assert.Equal(("gold", "priced", "p1"), ((string)only!["group"]!["plan"]!, (string)only!["group"]!["alias"]!, (string)only!["group"]!["provider"]!));
        Assert.Equal(5, (long)only!["total"]!["calls"]!);

        // The application's own report (the portal's): its tokens per day, no cost.
        var report = await new ConsumerUsage(new UsageAnalytics((IUsageStore)admin.Store), null).GetAsync("gold-app", new DateOnly(2026, 3, 1), new DateOnly(2026, 3, 1));
        var day = Assert.Single(report.Days);
        Assert.Equal((5L, 35L, 25L), (day.ModelCalls, day.PromptTokens, day.CompletionTokens));
    }

    [Fact]
    public async Task StreamCutMidway_CountsAsOneEstimatedCall_WithTheTextRelayedSoFar()
    {
        var connection = await CreateEmptyStoreAsync();
        var time = new FakeTime(Start);
        await using var p0 = await FakeProvider.StartAsync();
        await using var p1 = await FakeProvider.StartAsync();
        await using var a = await UsageNode.StartAsync(connection, "node-a", Yaml(p0, p1), time);
        p1.Fault = FakeFault.CutMidStream;

        using (var response = await a.Client.SendAsync(Chat(GoldKey, "free", stream: true), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            try
            {
                await response.Content.ReadAsStringAsync();
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                // The gateway aborts a broken stream after its error event.
            }
        }

        await FlushUntilAsync(connection, time, 1, a);
        var result = await new UsageAnalytics((IUsageStore)a.Store).QueryAiAsync(new AnalyticsQuery
        {
            From = Start.AddMinutes(-1),
            To = Start.AddMinutes(5),
            Granularity = UsageGranularity.Minute,
        });
        var total = Assert.Single(result.Series).Total;
        Assert.Equal((1L, 1L, 0L), (total.Calls, total.EstimatedCalls, total.CostNanos));
        // The prompt as the gateway counted it, and the two words relayed before the cut ("w1 w2"), counted with o200k_base.
        Assert.InRange(total.PromptTokens, 1, 20);
        Assert.InRange(total.CompletionTokens, 1, 8);
    }

    [Fact]
    public async Task BadQuery_IsAProblemThatSaysWhatToWrite()
    {
        await using var admin = await AdminHarness.StartAsync(await CreateEmptyStoreAsync(), now: Start);
        foreach (var (query, expected) in new[]
        {
            ("groupBy=operation", "not one of application, plan, alias, provider, model, node"),
            ("from=tomorrow", "not a time"),
            ("granularity=week", "minute, hour or day"),
            ("limit=5000", "from 1 to 1000"),
        })
        {
            using var response = await admin.Client.GetAsync("/admin/analytics/ai?" + query);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
            var problem = await AdminHarness.ReadObjectAsync(response);
            Assert.Equal("urn:gatehouse:problem:analytics-bad-query", (string)problem["type"]!);
            Assert.Contains(expected, (string)problem["detail"]!, StringComparison.Ordinal);
        }

        // Nothing recorded yet: no series, not an error.
        var empty = await GetAsync(admin, "/admin/analytics/ai");
        Assert.Empty(empty["series"]!.AsArray());
    }

    private static HttpRequestMessage Chat(string key, string model, bool stream)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"{{model}}","stream":{{(stream ? "true" : "false")}},"messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Api-Key", key);
        return request;
    }

    private static async Task ChatAsync(UsageNode node, string key, string model, bool stream, HttpStatusCode expected = HttpStatusCode.OK)
    {
        using var response = await node.Client.SendAsync(Chat(key, model, stream));
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == expected, $"{model} (stream: {stream}): {(int)response.StatusCode} {body}");
    }

    /// <summary>
    /// Flushes the nodes until the store holds at least <paramref name="calls"/> model calls: a call's record is queued when
    /// the gateway has settled it, which may be just after the client has read the whole answer.
    /// </summary>
    private static async Task FlushUntilAsync(string connection, TimeProvider time, long calls, params UsageNode[] nodes)
    {
        await using var store = await ConfigStores.OpenAsync(connection, time);
        await Wait.UntilAsync(async () =>
        {
            foreach (var node in nodes)
            {
                await node.FlushAsync();
            }

            var all = await ((IUsageStore)store).AggregateAiUsageAsync(new AiUsageQuery(UsageGranularity.Day, 0, long.MaxValue), [], byBucket: false);
            return all.Sum(t => t.Calls) >= calls;
        }, $"{calls} model calls in the store");
    }

    private static async Task<JsonObject> GetAsync(AdminHarness admin, string path)
    {
        using var response = await admin.Client.GetAsync(path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }
}

/// <summary>Model usage on a SQLite file.</summary>
public sealed class SqliteAiUsageAnalyticsTests : AiUsageAnalyticsTests, IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-ai-usage-").FullName;

    protected override Task<string> CreateEmptyStoreAsync() => Task.FromResult("sqlite:" + Path.Combine(_folder, "gatehouse.db"));

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try
        {
            Directory.Delete(_folder, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>Model usage on PostgreSQL, a fresh database per test.</summary>
[Collection(PostgresCollection.Name)]
public sealed class PostgresAiUsageAnalyticsTests(PostgresCluster cluster) : AiUsageAnalyticsTests
{
    protected override Task<string> CreateEmptyStoreAsync() => cluster.CreateDatabaseAsync();
}
