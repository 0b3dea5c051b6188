using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Issue 22: a client that goes away ends the provider's call at once, wherever the call is (waiting for the provider's
/// headers, its whole answer, or a stream's next event while the model pauses), so that the provider stops generating an
/// answer no one reads; the call is settled with what was counted when the client left, as a cut stream is, and no other
/// provider is tried for it.
/// </summary>
public sealed class ClientGoneTests : IDisposable
{
    private const string CompletionLimit = "    tokenLimits: [ { tokens: 100000, per: day, count: completion } ]";

    /// <summary>Generous for a loaded machine; the provider's timeout (60 s) is far beyond it, so only the client's leaving explains it.</summary>
    private static readonly TimeSpan AtOnce = TimeSpan.FromSeconds(2);

    private readonly MeterListener _listener = new();
    private readonly ConcurrentQueue<(long Value, string? Model, bool Estimated)> _tokens = new();

    public ClientGoneTests()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == AiMetrics.MeterName && instrument.Name == "gatehouse.ai.tokens")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? model = null;
            var estimated = false;
            foreach (var (key, tag) in tags)
            {
                (model, estimated) = key switch
                {
                    "model" => ((string?)tag, estimated),
                    "estimated" => (model, tag is true),
                    _ => (model, estimated),
                };
            }

            _tokens.Enqueue((value, model, estimated));
        });
        _listener.Start();
    }

    public void Dispose() => _listener.Dispose();

    [Theory]
    [InlineData("/v1/chat/completions", "fast")]
    [InlineData("/v1/responses", "fast")]
    [InlineData("/v1/messages", "fast")] // Anthropic's Messages API, translated for an OpenAI-format provider
    [InlineData("/v1/messages", "claude")] // passed through to an Anthropic provider
    public async Task Stream_ClientLeavesWhileTheProviderPauses_TheProvidersCallEndsAtOnce_AndIsSettledWithWhatWasRelayed(string path, string alias)
    {
        // The meter is shared by the tests running in parallel: each case's provider model is its own.
        var model = $"pause{path.Replace('/', '-')}-{alias}";
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, timeout: "60s", planExtra: CompletionLimit, models: $$"""
                    fast: [ { provider: p0, model: {{model}} } ]
                    claude: [ { provider: a0, model: {{model}} } ]
            """);
        // One text delta, then a pause that only the caller's leaving ends (a model thinking, a slow upstream).
        kit.Providers[0].Fault = FakeFault.Gate;
        kit.Anthropic[0].Fault = AnthropicFault.Gate;
        var (abandoned, first) = alias == "claude" ? (kit.Anthropic[0].Abandoned, "a1") : (kit.Providers[0].Abandoned, "w1");
        var body = path == "/v1/responses"
            ? $$"""{"model":"{{alias}}","stream":true,"max_output_tokens":700,"input":"hi"}"""
            : $$"""{"model":"{{alias}}","stream":true,"max_tokens":700,"messages":[{"role":"user","content":"hi"}]}""";
        using (var response = await kit.Leaving.SendAsync(kit.Post(body, path), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var stream = await response.Content.ReadAsStreamAsync();
            var seen = new StringBuilder();
            var buffer = new byte[4096];
            while (!seen.ToString().Contains($"\"{first}\"", StringComparison.Ordinal))
            {
                var read = await stream.ReadAsync(buffer);
                Assert.True(read > 0, seen.ToString());
                seen.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }

            Assert.Equal((0L, 700L), Limiter(kit).Read("gold", "app", 0));
        }

        var left = Stopwatch.StartNew();
        await abandoned.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the call settled");
        Assert.True(left.Elapsed < AtOnce, $"the provider's call ended and the call was settled {left.Elapsed} after the client left");

        // What was relayed, counted by the gateway (the provider's usage never came), and recorded as estimated.
        Assert.Equal((TokenCounter.Count(first), 0L), Limiter(kit).Read("gold", "app", 0));
        await Wait.UntilAsync(() => _tokens.Any(t => t.Model == model), "the call's usage recorded");
        Assert.All(_tokens.Where(t => t.Model == model), t => Assert.True(t.Estimated));
    }

    [Fact]
    public async Task Whole_ClientLeavesWhileTheProviderIsSlow_TheProvidersCallEndsAtOnce_AndIsSettledWithThePrompt()
    {
        const string model = "slow-whole";
        await using var kit = await AiKit.StartAsync(providerCount: 1, timeout: "60s", planExtra: AiKit.DayTokenLimit, models: $$"""
                    fast: [ { provider: p0, model: {{model}} } ]
            """);
        var provider = kit.Providers[0];
        provider.Fault = FakeFault.HoldWhole;
        const string body = """{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";
        var prompt = TokenLimiter.EstimatePrompt((JsonObject)JsonNode.Parse(body)!, AiOperation.Chat);
        using var leaving = new CancellationTokenSource();
        var call = kit.Leaving.SendAsync(kit.Post(body), leaving.Token);
        await Wait.UntilAsync(() => !provider.Received.IsEmpty, "the provider got the call");
        Assert.Equal((0L, prompt + 50), Limiter(kit).Read("gold", "app", 0));

        await leaving.CancelAsync();
        var left = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await provider.Abandoned.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the call settled");
        Assert.True(left.Elapsed < AtOnce, $"the provider's call ended and the call was settled {left.Elapsed} after the client left");

        // The provider had the prompt, and answered nothing: the prompt's estimate is what the call used.
        Assert.Equal((prompt, 0L), Limiter(kit).Read("gold", "app", 0));
        Assert.Equal(0, provider.ReportedTokens);
        await Wait.UntilAsync(() => _tokens.Any(t => t.Model == model), "the call's usage recorded");
        Assert.All(_tokens.Where(t => t.Model == model), t => Assert.True(t.Estimated));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Fallback_ClientLeavesBeforeTheFirstProviderAnswers_NoOtherProviderIsCalled_AndNoneCountsAsFailing(bool stream)
    {
        var logs = new CapturingLoggerProvider();
        await using var kit = await AiKit.StartAsync(providerCount: 2, timeout: "60s", planExtra: AiKit.DayTokenLimit, logs: logs);
        // A whole answer held, or a stream's headers sent and its first event held: either way nothing reached the client.
        kit.Providers[0].Fault = stream ? FakeFault.GateFirstChunk : FakeFault.HoldWhole;
        using var leaving = new CancellationTokenSource();
        var call = kit.Leaving.SendAsync(kit.Post($$"""{"model":"fast","stream":{{(stream ? "true" : "false")}},"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead, leaving.Token);
        await Wait.UntilAsync(() => !kit.Providers[0].Received.IsEmpty, "the first provider got the call");

        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await kit.Providers[0].Abandoned.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // Settled once the call's attempts are over: no provider is called after this.
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the call settled");

        Assert.Empty(kit.Providers[1].Received);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("trying the next", StringComparison.Ordinal));
    }

    /// <summary>
    /// What a provider bills as completion but chat's content does not hold is counted for an estimate, in every dialect:
    /// tool calls' arguments and reasoning (OpenAI-compatible chunks, and those translated to Anthropic's events), and
    /// Anthropic's thinking (translated to chunks).
    /// </summary>
    [Fact]
    public void Estimate_CountsArgumentsReasoningAndThinking_InEveryDialect()
    {
        string Seen(StreamDialect dialect, params string[] events)
        {
            var call = new AiCall(new Microsoft.AspNetCore.Http.DefaultHttpContext(), "req", new TokenReservation(3, null), clientAskedUsage: false);
            var discard = new System.Buffers.ArrayBufferWriter<byte>();
            foreach (var data in events)
            {
                Assert.Equal(StreamStep.Continue, dialect.Step(call, System.Text.Encoding.UTF8.GetBytes("data: " + data), discard, out _, out _));
            }

            return call.CompletionText!.ToString();
        }

        string[] chunks =
        [
            """{"choices":[{"index":0,"delta":{"reasoning_content":"think "}}]}""",
            """{"choices":[{"index":1,"delta":{"reasoning":"more "}}]}""",
            """{"choices":[{"index":0,"delta":{"content":"Hi "}}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"c","type":"function","function":{"name":"f","arguments":"{\"a\""}}]}}]}""",
            """{"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":":1}"}}]}}]}""",
        ];
        Assert.Equal("think more Hi {\"a\":1}", Seen(OpenAiStreamDialect.Instance, chunks));
        Assert.Equal("think Hi {\"a\":1}", Seen(new Gatehouse.Gateway.Ai.Anthropic.MessagesStream(), [.. chunks.Where(c => !c.Contains("\"index\":1", StringComparison.Ordinal))]));
        Assert.Equal("more ", Seen(new Gatehouse.Gateway.Ai.Anthropic.MessagesStream(), chunks[1]));
        Assert.Equal("plan Hi", Seen(new Gatehouse.Gateway.Ai.Anthropic.AnthropicStream(1),
            """{"type":"message_start","message":{"id":"m","model":"x","usage":{"input_tokens":5}}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"plan "}}""",
            """{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi"}}"""));
    }

    private long Recorded(string model) => _tokens.Where(t => t.Model == model).Sum(t => t.Value);

    private static TokenLimiter Limiter(AiKit kit) => kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
}
