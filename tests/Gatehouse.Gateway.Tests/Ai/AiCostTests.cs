using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using Gatehouse.Gateway.Ai;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>Issue 22, item 3: each call's tokens and cost, at the configured price of the provider model that answered.</summary>
public sealed class AiCostTests : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(string Name, double Value, Dictionary<string, object?> Tags)> _seen = new();

    public AiCostTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == AiMetrics.MeterName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => _seen.Enqueue((i.Name, v, Tags(tags))));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => _seen.Enqueue((i.Name, v, Tags(tags))));
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    private static Dictionary<string, object?> Tags(ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var result = new Dictionary<string, object?>();
        foreach (var (key, value) in tags)
        {
            result[key] = value;
        }

        return result;
    }

    // The static meter is shared by tests running in parallel: only this test's (unique) provider models count.
    private double Sum(string instrument, string model, string? kind = null) =>
        _seen.Where(m => m.Name == instrument && (string?)m.Tags["model"] == model && (kind is null || (string?)m.Tags["kind"] == kind)).Sum(m => m.Value);

    [Fact]
    public async Task Cost_WholeAndStreamedCalls_ProviderUsageTimesTheAnsweringModelsPrice()
    {
        // p0 fails every call, so p1 answers them all: its price counts, p0's never does.
        await using var kit = await AiKit.StartAsync(models: """
                    priced: [ { provider: p0, model: cost-a-2f81, price: { prompt: 100, completion: 100 } }, { provider: p1, model: cost-b-2f81, price: { prompt: 2, completion: 10 } } ]
            """);
        kit.Providers[0].Fault = FakeFault.ServerError;

        foreach (var stream in new[] { "false", "true" })
        {
            using var response = await kit.Gateway.Client.SendAsync(kit.Post($$"""{"model":"priced","stream":{{stream}},"messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await response.Content.ReadAsStringAsync();
        }

        // The fake reports 7 prompt and 5 completion tokens a call: (7 × 2 + 5 × 10) / 1e6 each.
        await Infrastructure.Wait.UntilAsync(() => Sum("gatehouse.ai.tokens", "cost-b-2f81") == 24, "both calls recorded");
        Assert.Equal(14, Sum("gatehouse.ai.tokens", "cost-b-2f81", "prompt"));
        Assert.Equal(10, Sum("gatehouse.ai.tokens", "cost-b-2f81", "completion"));
        Assert.Equal(128e-6, Sum("gatehouse.ai.cost", "cost-b-2f81"), 12);
        Assert.Equal(0, Sum("gatehouse.ai.cost", "cost-a-2f81"));
        var cost = _seen.First(m => m.Name == "gatehouse.ai.cost" && (string?)m.Tags["model"] == "cost-b-2f81");
        Assert.Equal(("gold", "priced", "p1"), ((string?)cost.Tags["plan"], (string?)cost.Tags["alias"], (string?)cost.Tags["provider"]));
    }

    [Fact]
    public async Task Cost_PromptCacheReadsAndWrites_AtTheirOwnPrices_WholeAndStreamed_FromEitherApi()
    {
        // p0 (OpenAI's API) reports 7 prompt tokens of which 3 cached, and 6 completion; a0 (Anthropic's) 11 input, 2
        // read from the cache, 4 output.
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, models: """
                    openai: [ { provider: p0, model: cost-cache-o-2f81, price: { prompt: 2, completion: 10, cachedPrompt: 0.5 } } ]
                    claude: [ { provider: a0, model: cost-cache-a-2f81, price: { prompt: 3, completion: 15, cachedPrompt: 0.3, cacheWrite: 3.75 } } ]
            """);

        foreach (var stream in new[] { "false", "true" })
        {
            foreach (var model in new[] { "openai", "claude" })
            {
                using var response = await kit.Gateway.Client.SendAsync(kit.Post($$$"""{"model":"{{{model}}}","stream":{{{stream}}},"tools":[{"type":"function","function":{"name":"weather"}}],"messages":[{"role":"user","content":"hi"}]}"""));
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                await response.Content.ReadAsStringAsync();
            }
        }

        await Infrastructure.Wait.UntilAsync(() => _seen.Count(m => m.Name == "gatehouse.ai.cost" && ((string?)m.Tags["model"])!.StartsWith("cost-cache-", StringComparison.Ordinal)) == 4, "the four calls recorded");
        // (4 × 2 + 3 × 0.5 + 6 × 10) / 1e6 a call, twice; the Anthropic answer with a tool is 9 output tokens: (11 × 3 + 2 × 0.3 + 9 × 15) / 1e6.
        Assert.Equal(2 * 69.5e-6, Sum("gatehouse.ai.cost", "cost-cache-o-2f81"), 12);
        Assert.Equal(2 * 168.6e-6, Sum("gatehouse.ai.cost", "cost-cache-a-2f81"), 12);
    }

    [Fact]
    public void Usage_CachedTokens_AreReadFromEachApisShape()
    {
        static AiUsage Read(string json)
        {
            var reader = new System.Text.Json.Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(json));
            reader.Read();
            return AiJson.ReadUsage(ref reader);
        }

        Assert.Equal(AiUsage.From(10, 2, 12, false, cacheRead: 4), Read("""{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12,"prompt_tokens_details":{"cached_tokens":4,"audio_tokens":0}}"""));
        Assert.Equal(AiUsage.From(10, 2, 12, false, cacheRead: 6), Read("""{"input_tokens":10,"input_tokens_details":{"cached_tokens":6},"output_tokens":2,"output_tokens_details":{"reasoning_tokens":1},"total_tokens":12}"""));
        Assert.Equal(AiUsage.From(10, 2, 0, false, cacheRead: 3, cacheWrite: 5), Read("""{"input_tokens":2,"cache_creation_input_tokens":5,"cache_read_input_tokens":3,"output_tokens":2}"""));
    }

    [Fact]
    public async Task Cost_ModelWithoutPrice_TokensOnly()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, models: """
                    free: [ { provider: p0, model: cost-free-2f81 } ]
            """);

        await kit.PostOkAsync("""{"model":"free","messages":[{"role":"user","content":"hi"}]}""");

        await Infrastructure.Wait.UntilAsync(() => Sum("gatehouse.ai.tokens", "cost-free-2f81") == 12, "the call recorded");
        Assert.DoesNotContain(_seen, m => m.Name == "gatehouse.ai.cost" && (string?)m.Tags["model"] == "cost-free-2f81");
    }

    [Fact]
    public async Task Scrape_AfterACall_TokensAndCostOnMetrics()
    {
        await using var provider = await FakeProvider.StartAsync();
        await using var gateway = await Infrastructure.TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            services:
              llm:
                kind: ai
                ai:
                  providers: { p0: { url: "{{provider.BaseUrl}}" } }
                  models: { fast: [ { provider: p0, model: cost-scrape-2f81, price: { prompt: 1000000, completion: 2000000 } } ] }
            routes:
              ai: { path: "/v1/{**rest}", service: llm }
            """);
        using (var response = await gateway.Client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using var metrics = new HttpClient();
        string text = "";
        await Infrastructure.Wait.UntilAsync(async () =>
        {
            text = await metrics.GetStringAsync(gateway.Host.MetricsUrl + "/metrics");
            return text.Contains("cost-scrape-2f81", StringComparison.Ordinal);
        }, "the call's metrics scraped");

        // 7 prompt tokens at 1 per token and 5 completion tokens at 2 per token.
        Assert.Matches("""gatehouse_ai_cost_total\{[^}]*model="cost-scrape-2f81"[^}]*\} 17(\.0)?\b""", text);
        Assert.Matches("""gatehouse_ai_tokens_total\{[^}]*kind="completion"[^}]*model="cost-scrape-2f81"[^}]*\} 5\b""", text);
    }

    [Fact]
    public void Config_NegativePrice_ErrorWithPathAndFix()
    {
        var result = Model.Loading.ConfigLoader.Load("""
            version: 1
            services:
              llm:
                kind: ai
                ai:
                  providers: { p0: { url: "http://127.0.0.1:9/v1" } }
                  models: { fast: [ { provider: p0, model: m, price: { prompt: -1, completion: 0.6 } } ] }
            """, Path.GetTempPath());

        Assert.False(result.IsValid);
        Assert.Contains(result.Errors, e => e.Path == "services.llm.ai.models.fast[0].price" && e.Message.Contains("not negative", StringComparison.Ordinal));
    }
}
