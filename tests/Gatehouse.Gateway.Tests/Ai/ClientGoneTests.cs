using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text.Json;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Issue 22: spend that matches the provider's bill. A client that goes away does not stop the provider generating (and
/// billing) the answer, so the gateway reads it to its end without the client, within the provider's timeout, and settles
/// with the usage the provider reported; only where none came is the estimate used, counting all that was received.
/// </summary>
public sealed class ClientGoneTests : IDisposable
{
    private const string CompletionLimit = "    tokenLimits: [ { tokens: 100000, per: day, count: completion } ]";

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

    [Fact]
    public async Task Streams_1000Of_Which100CutByTheClientMidStream_RecordedTokensEqualTheProvidersGroundTruth()
    {
        // The meter is shared by the tests running in parallel: this test's provider model is its own.
        await using var kit = await AiKit.StartAsync(providerCount: 1, planExtra: AiKit.DayTokenLimit, models: """
                    fast: [ { provider: p0, model: gone-1000-5e1d } ]
            """);
        var provider = kit.Providers[0];
        provider.AnswerToMaxTokens = true; // each call's own length, from 4 to 16 tokens
        provider.ChunkDelay = TimeSpan.FromMilliseconds(1); // so that a cut after the first chunk falls mid-stream

        long expected = 0;
        await Parallel.ForEachAsync(Enumerable.Range(0, 1000), new ParallelOptions { MaxDegreeOfParallelism = 24 }, async (i, ct) =>
        {
            var words = 4 + (i % 13);
            Interlocked.Add(ref expected, 7 + words); // the fake's 7 prompt tokens and one token a word
            var cut = i % 10 == 3;
            var client = cut ? kit.Leaving : kit.Gateway.Client;
            using var response = await client.SendAsync(kit.Post($$"""{"model":"fast","stream":true,"max_tokens":{{words}},"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead, ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            if (cut)
            {
                // The first chunk, then the client goes away.
                Assert.True(await stream.ReadAsync(new byte[64], ct) > 0);
                return;
            }

            using var reader = new StreamReader(stream);
            Assert.EndsWith("data: [DONE]\n\n", await reader.ReadToEndAsync(ct), StringComparison.Ordinal);
        });

        // Every call was answered to its end and reported, also those whose client left; the gateway counted exactly that.
        await kit.AssertTokensUsedAsync(expected);
        Assert.Equal(expected, provider.ReportedTokens);
        await Wait.UntilAsync(() => Recorded("gone-1000-5e1d") == expected, "every call recorded in the metrics");
        Assert.DoesNotContain(_tokens, t => t.Model == "gone-1000-5e1d" && t.Estimated);
    }

    [Fact]
    public async Task Whole_ClientLeavesWhileTheProviderAnswers_RecordedWithTheProvidersUsage_AndTheRequestIsOverAtOnce()
    {
        var log = Path.Combine(Path.GetTempPath(), $"gatehouse-ai-gone-{Guid.NewGuid():N}.log");
        try
        {
            await using var kit = await AiKit.StartAsync(providerCount: 1, planExtra: AiKit.DayTokenLimit, gatewayExtra: $"gateway:\n  observability:\n    accessLog: {{ path: \"{log}\" }}");
            var provider = kit.Providers[0];
            provider.Fault = FakeFault.HoldWhole;
            using var leaving = new CancellationTokenSource();
            var call = kit.Leaving.SendAsync(kit.Post("""{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"""), leaving.Token);
            await Wait.UntilAsync(() => !provider.Received.IsEmpty, "the provider got the call");
            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);

            // The client's request is over (and logged as 499) while the provider is still answering: the gateway does not
            // hold it while it reads the answer.
            await Wait.UntilAsync(() => File.Exists(log) && File.ReadAllLines(log).Length == 1, "the request's access log line");
            Assert.Equal(499, JsonDocument.Parse(File.ReadAllLines(log)[0]).RootElement.GetProperty("status").GetInt32());
            Assert.False(provider.Abandoned.Task.IsCompleted, "the provider's call was given up with the client");

            provider.Release.SetResult();
            await kit.AssertTokensUsedAsync(12); // 7 prompt and 5 completion tokens, as the provider reported
            Assert.Equal(12, provider.ReportedTokens);
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public async Task Stream_ProviderStallsAfterTheClientLeft_AbandonedAtItsTimeout_AndSettledByEstimate()
    {
        var log = Path.Combine(Path.GetTempPath(), $"gatehouse-ai-gone-{Guid.NewGuid():N}.log");
        try
        {
            await using var kit = await AiKit.StartAsync(providerCount: 1, timeout: "2s", planExtra: CompletionLimit, gatewayExtra: $"gateway:\n  observability:\n    accessLog: {{ path: \"{log}\" }}");
            var provider = kit.Providers[0];
            provider.Fault = FakeFault.GateFirstChunk;
            provider.StallAfterChunks = 2;
            using var leaving = new CancellationTokenSource();
            var call = kit.Leaving.SendAsync(kit.Post("""{"model":"fast","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead, leaving.Token);
            await Wait.UntilAsync(() => !provider.Received.IsEmpty, "the provider got the call");
            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            await Wait.UntilAsync(() => File.Exists(log) && File.ReadAllLines(log).Length == 1, "the request over");

            // The provider streams two chunks after the client left, then nothing: it is given up within its timeout, and
            // the call settled with what it sent ("w1 w2"), counted by the gateway.
            provider.Release.SetResult();
            await provider.Abandoned.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, "the call settled");
            Assert.Equal((TokenCounter.Count("w1 w2"), 0L), Limiter(kit).Read("gold", "app", 0));
            Assert.Equal(0, provider.ReportedTokens);
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Fact]
    public async Task Stream_WithToolCallArguments_CutAndNoUsageFromTheProvider_EstimateCountsTheArguments()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, planExtra: CompletionLimit);
        var provider = kit.Providers[0];
        provider.Fault = FakeFault.Gate; // after the sentence before the tool call
        provider.ReportsUsage = false;
        using (var response = await kit.Leaving.SendAsync(kit.Post("""{"model":"fast","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"weather?"}],"tools":[{"type":"function","function":{"name":"weather","parameters":{"type":"object"}}}]}"""), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var stream = await response.Content.ReadAsStreamAsync();
            Assert.True(await stream.ReadAsync(new byte[4096]) > 0);
        }

        provider.Release.SetResult();
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, "the call settled");
        var (used, _) = Limiter(kit).Read("gold", "app", 0);
        Assert.Equal(TokenCounter.Count(FakeProvider.ToolPreamble + FakeProvider.ToolArguments), used);
        Assert.True(used > TokenCounter.Count(FakeProvider.ToolPreamble), $"{used}: the arguments count");
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
