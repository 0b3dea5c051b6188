using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Issue 22: a client that goes away, by its provider's <c>onClientLeave</c>. With <c>finish</c> (the default), spend
/// that matches the provider's bill: the provider generates (and bills) the answer anyway, so the gateway reads it to its
/// end without the client, within the provider's timeout, and settles with the usage the provider reported; only where
/// none came is the estimate used, counting all that was received. With <c>cancel</c> (a self-hosted server), the
/// provider's call ends at once, wherever it is (waiting for the provider's headers, its whole answer, or a stream's next
/// event while the model pauses), and the call is settled with what was counted when the client left, estimated. Either
/// way no other provider is tried for it, and the leaving does not count as the provider failing; with <c>finish</c>, how
/// the provider then answers counts towards its cooldown as it does with the client there.
/// </summary>
public sealed class ClientGoneTests : IDisposable
{
    private const string CompletionLimit = "    tokenLimits: [ { tokens: 100000, per: day, count: completion } ]";

    /// <summary>The providers' line (<c>providerExtra</c>, <c>anthropicExtra</c>) of a self-hosted server that stops when its call is aborted.</summary>
    private const string Cancel = ", onClientLeave: cancel";

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

    [Theory]
    [InlineData("/v1/chat/completions", "fast")]
    [InlineData("/v1/responses", "fast")]
    [InlineData("/v1/messages", "fast")] // Anthropic's Messages API, translated for an OpenAI-format provider
    [InlineData("/v1/messages", "claude")] // passed through to an Anthropic provider
    public async Task Stream_ClientLeavesWhileTheProviderPauses_TheAnswerIsReadToItsEnd_AndSettledWithTheProvidersUsage(string path, string alias)
    {
        // The meter is shared by the tests running in parallel: each case's provider model is its own.
        var model = $"finish{path.Replace('/', '-')}-{alias}";
        var log = Path.Combine(Path.GetTempPath(), $"gatehouse-ai-gone-{Guid.NewGuid():N}.log");
        using var deleteLog = new DeleteOnDispose(log);
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, timeout: "60s", planExtra: CompletionLimit, gatewayExtra: AccessLog(log), models: $$"""
                    fast: [ { provider: p0, model: {{model}} } ]
                    claude: [ { provider: a0, model: {{model}} } ]
            """);
        // One text delta, then a pause until the test releases the provider (a model thinking, a slow upstream).
        kit.Providers[0].Fault = FakeFault.Gate;
        kit.Anthropic[0].Fault = AnthropicFault.Gate;
        var (abandoned, release, first, words) = alias == "claude"
            ? (kit.Anthropic[0].Abandoned, kit.Anthropic[0].Release, "a1", kit.Anthropic[0].AnswerWords)
            : (kit.Providers[0].Abandoned, kit.Providers[0].Release, "w1", kit.Providers[0].AnswerWords);
        var body = path == "/v1/responses"
            ? $$"""{"model":"{{alias}}","stream":true,"max_output_tokens":700,"input":"hi"}"""
            : $$"""{"model":"{{alias}}","stream":true,"max_tokens":700,"messages":[{"role":"user","content":"hi"}]}""";
        using (var response = await kit.Leaving.SendAsync(kit.Post(body, path), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var stream = await response.Content.ReadAsStreamAsync();
            await ReadUntilAsync(stream, $"\"{first}\"");
        }

        // The client's request is over when it left (499 in the access log, its duration the client's), while the
        // provider still pauses: not at the provider's next event, which may be minutes away for a model thinking.
        await Wait.UntilAsync(() => AccessLogLines(log).Length == 1, "the request's access log line while the provider pauses");
        Assert.Equal(499, JsonDocument.Parse(AccessLogLines(log)[0]).RootElement.GetProperty("status").GetInt32());

        // The client is gone, and the provider's call goes on: a cancelling gateway would have ended it within
        // milliseconds, so a quiet half second says it does not.
        Assert.NotSame(abandoned.Task, await Task.WhenAny(abandoned.Task, Task.Delay(TimeSpan.FromMilliseconds(500))));

        // The provider generates (and bills) the rest, which the gateway reads for its usage: the completion the provider
        // reported (one token a word), not what was relayed ("w1" alone), and not estimated.
        release.SetResult();
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, "the call settled");
        Assert.Equal(((long)words, 0L), Limiter(kit).Read("gold", "app", 0));
        Assert.False(abandoned.Task.IsCompleted, "the provider's call was given up with the client");
        await Wait.UntilAsync(() => _tokens.Any(t => t.Model == model), "the call's usage recorded");
        Assert.DoesNotContain(_tokens, t => t.Model == model && t.Estimated);
    }

    [Theory]
    [InlineData(false, "finish")]
    [InlineData(true, "finish")]
    [InlineData(false, "cancel")]
    [InlineData(true, "cancel")]
    public async Task Fallback_ClientLeavesBeforeTheFirstProviderAnswers_NoOtherProviderIsCalled_AndNoneCountsAsFailing(bool stream, string onClientLeave)
    {
        var logs = new CapturingLoggerProvider();
        var log = Path.Combine(Path.GetTempPath(), $"gatehouse-ai-gone-{Guid.NewGuid():N}.log");
        try
        {
            await using var kit = await AiKit.StartAsync(providerCount: 2, timeout: "60s", planExtra: AiKit.DayTokenLimit, logs: logs, providerExtra: $", onClientLeave: {onClientLeave}",
                gatewayExtra: $"gateway:\n  observability:\n    accessLog: {{ path: \"{log}\" }}");
            // A whole answer held, or a stream's headers sent and its first event held: either way nothing reached the client.
            kit.Providers[0].Fault = stream ? FakeFault.GateFirstChunk : FakeFault.HoldWhole;
            using var leaving = new CancellationTokenSource();
            var call = kit.Leaving.SendAsync(kit.Post($$"""{"model":"fast","stream":{{(stream ? "true" : "false")}},"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead, leaving.Token);
            await Wait.UntilAsync(() => !kit.Providers[0].Received.IsEmpty, "the first provider got the call");

            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            // Either way the client's request is over at once (499), and the gateway has seen the client leave.
            await Wait.UntilAsync(() => File.Exists(log) && File.ReadAllLines(log).Length == 1, "the request's access log line");
            Assert.Equal(499, JsonDocument.Parse(File.ReadAllLines(log)[0]).RootElement.GetProperty("status").GetInt32());
            if (onClientLeave == "cancel")
            {
                await kit.Providers[0].Abandoned.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }
            else
            {
                // Finished without the client: the provider answers once released, and its usage is what the call used.
                kit.Providers[0].Release.SetResult();
            }

            // Settled once the call's attempts are over: no provider is called after this.
            await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the call settled");
            if (onClientLeave == "finish")
            {
                Assert.Equal((kit.Providers[0].ReportedTokens, 0L), Limiter(kit).Read("gold", "app", 0));
                Assert.Equal(12, kit.Providers[0].ReportedTokens); // 7 prompt and 5 completion tokens
                Assert.False(kit.Providers[0].Abandoned.Task.IsCompleted, "the provider's call was given up with the client");
            }

            Assert.Empty(kit.Providers[1].Received);
            Assert.DoesNotContain(logs.Entries, e => e.Message.Contains("trying the next", StringComparison.Ordinal));
        }
        finally
        {
            File.Delete(log);
        }
    }

    [Theory]
    [InlineData("/v1/chat/completions", "fast")]
    [InlineData("/v1/responses", "fast")]
    [InlineData("/v1/messages", "fast")] // Anthropic's Messages API, translated for an OpenAI-format provider
    [InlineData("/v1/messages", "claude")] // passed through to an Anthropic provider
    public async Task Cancel_Stream_ClientLeavesWhileTheProviderPauses_TheProvidersCallEndsAtOnce_AndIsSettledWithWhatWasRelayed(string path, string alias)
    {
        // The meter is shared by the tests running in parallel: each case's provider model is its own.
        var model = $"pause{path.Replace('/', '-')}-{alias}";
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, timeout: "60s", planExtra: CompletionLimit, providerExtra: Cancel, anthropicExtra: Cancel, models: $$"""
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
            await ReadUntilAsync(stream, $"\"{first}\"");
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
    public async Task Cancel_Whole_ClientLeavesWhileTheProviderIsSlow_TheProvidersCallEndsAtOnce_AndIsSettledWithThePrompt()
    {
        const string model = "slow-whole";
        await using var kit = await AiKit.StartAsync(providerCount: 1, timeout: "60s", planExtra: AiKit.DayTokenLimit, providerExtra: Cancel, models: $$"""
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

    /// <summary>
    /// A provider that fails after its client left, while the gateway finishes the call for it, before its answer began:
    /// it bills nothing for a failed call, and the call is settled with nothing, as the same failure is when the client is
    /// still there (checked next, on the same provider): no tokens, no cost, no usage recorded.
    /// </summary>
    [Theory]
    [InlineData(false, FakeFault.HoldWhole, FakeRelease.ServerError)] // a 500 for its headers, after the client left
    [InlineData(true, FakeFault.HoldHeaders, FakeRelease.ServerError)]
    [InlineData(true, FakeFault.GateFirstChunk, FakeRelease.Reset)] // the stream's headers, then a reset before any event
    [InlineData(false, FakeFault.HoldWholeBody, FakeRelease.Reset)] // half a whole body, then a reset
    [InlineData(true, FakeFault.GateFirstChunk, null)] // the stream's headers, then silence past the provider's timeout
    public async Task Finish_ClientLeavesThenTheProviderFailsBeforeItsAnswer_SettledWithNothing_AsWithTheClientThere(bool stream, FakeFault fault, FakeRelease? released)
    {
        // The meter is shared by the tests running in parallel: each case's provider model is its own.
        var model = $"fails-{stream}-{fault}-{released}";
        var log = Path.Combine(Path.GetTempPath(), $"gatehouse-ai-gone-{Guid.NewGuid():N}.log");
        using var deleteLog = new DeleteOnDispose(log);
        await using var kit = await AiKit.StartAsync(providerCount: 1, timeout: released is null ? "2s" : "60s", planExtra: AiKit.DayTokenLimit, gatewayExtra: AccessLog(log), models: $$"""
                    fast: [ { provider: p0, model: {{model}} } ]
            """);
        var provider = kit.Providers[0];
        (provider.Fault, provider.Released) = (fault, released ?? FakeRelease.Answer);
        var body = $$"""{"model":"fast","stream":{{(stream ? "true" : "false")}},"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";
        using (var leaving = new CancellationTokenSource())
        {
            var call = kit.Leaving.SendAsync(kit.Post(body), HttpCompletionOption.ResponseHeadersRead, leaving.Token);
            await Wait.UntilAsync(() => !provider.Received.IsEmpty, "the provider got the call");
            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        }

        // The gateway has seen the client leave (its request is over) before the provider fails: left, then failed.
        await Wait.UntilAsync(() => AccessLogLines(log).Length == 1, "the request's access log line");
        Assert.Equal(499, JsonDocument.Parse(AccessLogLines(log)[0]).RootElement.GetProperty("status").GetInt32());
        Assert.False(provider.Abandoned.Task.IsCompleted, "the provider's call was given up with the client");
        if (released is not null)
        {
            provider.Release.SetResult();
        }

        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the call settled");
        Assert.Equal((0L, 0L), Limiter(kit).Read("gold", "app", 0));
        Assert.Equal(0, provider.ReportedTokens);
        Assert.DoesNotContain(_tokens, t => t.Model == model);

        // The same failure with the client there: an error for the client, and nothing used either.
        using (var response = await kit.Gateway.Client.SendAsync(kit.Post(body)))
        {
            Assert.True((int)response.StatusCode is 502 or 504, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }

        await kit.AssertTokensUsedAsync(0);
        Assert.DoesNotContain(_tokens, t => t.Model == model);
    }

    /// <summary>
    /// A provider that fails while the gateway finishes calls for clients that left says as much of its health as the
    /// same failure with the client there: three in a row pass it over (<c>ai.cooldown</c>), so the next call goes to the
    /// alias's other provider first; yet none of those calls tried another provider, no one being left to answer.
    /// </summary>
    [Theory]
    [InlineData(false, FakeFault.HoldWhole, FakeRelease.ServerError)] // a 500 for its headers, after the clients left
    [InlineData(true, FakeFault.HoldHeaders, FakeRelease.ServerError)]
    [InlineData(true, FakeFault.GateFirstChunk, FakeRelease.Reset)] // the stream's headers, then a reset before any event
    [InlineData(false, FakeFault.HoldWholeBody, FakeRelease.Reset)] // half a whole body, then a reset
    [InlineData(true, FakeFault.GateFirstChunk, null)] // the stream's headers, then silence past the provider's timeout
    public async Task Finish_TheProviderFailsThreeCallsAfterTheirClientsLeft_ItIsPassedOver_AsWithTheClientThere(bool stream, FakeFault fault, FakeRelease? released)
    {
        using var logs = new CapturingLoggerProvider();
        var log = Path.Combine(Path.GetTempPath(), $"gatehouse-ai-gone-{Guid.NewGuid():N}.log");
        using var deleteLog = new DeleteOnDispose(log);
        await using var kit = await AiKit.StartAsync(providerCount: 2, timeout: released is null ? "2s" : "60s", planExtra: AiKit.DayTokenLimit, logs: logs, gatewayExtra: AccessLog(log));
        var provider = kit.Providers[0];
        (provider.Fault, provider.Released) = (fault, released ?? FakeRelease.Answer);
        var body = $$"""{"model":"fast","stream":{{(stream ? "true" : "false")}},"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";
        using (var leaving = new CancellationTokenSource())
        {
            var calls = Enumerable.Range(0, 3).Select(_ => kit.Leaving.SendAsync(kit.Post(body), HttpCompletionOption.ResponseHeadersRead, leaving.Token)).ToList();
            await Wait.UntilAsync(() => provider.Received.Count == 3, "the provider got the calls");
            await leaving.CancelAsync();
            foreach (var call in calls)
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            }
        }

        // The gateway has seen every client leave (their requests are over) before the provider fails: left, then failed.
        await Wait.UntilAsync(() => AccessLogLines(log).Length == 3, "the requests' access log lines");
        Assert.All(AccessLogLines(log), line => Assert.Equal(499, JsonDocument.Parse(line).RootElement.GetProperty("status").GetInt32()));
        if (released is not null)
        {
            provider.Release.SetResult();
        }

        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the calls settled");
        Assert.Empty(kit.Providers[1].Received);

        // The provider would answer now, but it is passed over: the next call goes to p1 first, which answers it.
        provider.Fault = FakeFault.None;
        await kit.PostOkAsync("""{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""");
        Assert.Equal(3, provider.Received.Count);
        Assert.Single(kit.Providers[1].Received);
        Assert.Contains(logs.Entries, e => e.Message.Contains("provider p0 (model-0) is passed over for 30 s after 3 failed call(s)", StringComparison.Ordinal));
        Assert.Equal(3, logs.Entries.Count(e => e.Message.Contains("failed after its client left", StringComparison.Ordinal)));
    }

    /// <summary>
    /// An answer read to its end for a client that left is the provider answering, as it is with the client there: it
    /// resets the provider's count of failures in a row, so two failures before it and two after pass nothing over.
    /// </summary>
    [Fact]
    public async Task Finish_AnAnswerReadAfterItsClientLeft_ResetsTheProvidersFailuresInARow_AsAnAnswerWithTheClientThere()
    {
        var log = Path.Combine(Path.GetTempPath(), $"gatehouse-ai-gone-{Guid.NewGuid():N}.log");
        using var deleteLog = new DeleteOnDispose(log);
        await using var kit = await AiKit.StartAsync(providerCount: 2, timeout: "60s", planExtra: AiKit.DayTokenLimit, gatewayExtra: AccessLog(log));
        var provider = kit.Providers[0];
        const string body = """{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";
        provider.Fault = FakeFault.ServerError;
        await kit.PostOkAsync(body); // each falls back to p1
        await kit.PostOkAsync(body);

        provider.Fault = FakeFault.HoldWhole;
        using (var leaving = new CancellationTokenSource())
        {
            var call = kit.Leaving.SendAsync(kit.Post(body), leaving.Token);
            await Wait.UntilAsync(() => provider.Received.Count == 3, "the provider got the call");
            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        }

        // The gateway has seen the client leave before the provider answers: the answer is read without it.
        await Wait.UntilAsync(() => AccessLogLines(log).Any(line => JsonDocument.Parse(line).RootElement.GetProperty("status").GetInt32() == 499), "the left request's access log line");
        provider.Release.SetResult();
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the call settled");
        Assert.Equal(12, provider.ReportedTokens); // answered, to its end

        provider.Fault = FakeFault.ServerError;
        await kit.PostOkAsync(body);
        await kit.PostOkAsync(body);
        provider.Fault = FakeFault.None;
        await kit.PostOkAsync(body);

        Assert.Equal(6, provider.Received.Count); // never three failures in a row: tried first every time
        Assert.Equal(4, kit.Providers[1].Received.Count);
    }

    [Fact]
    public async Task Finish_Stream_ClientLeavesMidAnswer_ThenTheConnectionBreaks_SettledWithTheEstimateOfWhatCame_AsWithTheClientThere()
    {
        const string model = "breaks-after-left";
        await using var kit = await AiKit.StartAsync(providerCount: 1, timeout: "60s", planExtra: CompletionLimit, models: $$"""
                    fast: [ { provider: p0, model: {{model}} } ]
            """);
        var provider = kit.Providers[0];
        provider.Fault = FakeFault.ResetMidStream; // the first chunk, then a reset once released
        using (var response = await kit.Leaving.SendAsync(kit.Post("""{"model":"fast","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead))
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            await ReadUntilAsync(stream, "\"w1\"");
        }

        // The answer had begun, so the provider bills what it generated: without its usage, what came ("w1") is what is
        // counted, estimated, as for a stream that breaks with its client there.
        provider.Release.SetResult();
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the call settled");
        Assert.Equal((TokenCounter.Count("w1"), 0L), Limiter(kit).Read("gold", "app", 0));
        await Wait.UntilAsync(() => _tokens.Any(t => t.Model == model), "the call's usage recorded");
        Assert.All(_tokens.Where(t => t.Model == model), t => Assert.True(t.Estimated));
    }

    /// <summary>
    /// A client that leaves while a whole (not streamed) answer's body is read, after its headers came: with
    /// <c>finish</c> the body is read to its end without the client and the call settled with the provider's usage; with
    /// <c>cancel</c> the provider's call ends at once and the call is settled with its prompt, estimated. Either way the
    /// client's request is over (499) when it left.
    /// </summary>
    [Theory]
    [InlineData("finish")]
    [InlineData("cancel")]
    public async Task Whole_ClientLeavesWhileTheBodyIsRead_FinishSettlesWithTheProvidersUsage_CancelEndsTheCallWithThePrompt(string onClientLeave)
    {
        var model = $"whole-body-{onClientLeave}";
        var log = Path.Combine(Path.GetTempPath(), $"gatehouse-ai-gone-{Guid.NewGuid():N}.log");
        using var deleteLog = new DeleteOnDispose(log);
        await using var kit = await AiKit.StartAsync(providerCount: 1, timeout: "60s", planExtra: AiKit.DayTokenLimit, providerExtra: $", onClientLeave: {onClientLeave}", gatewayExtra: AccessLog(log), models: $$"""
                    fast: [ { provider: p0, model: {{model}} } ]
            """);
        var provider = kit.Providers[0];
        provider.Fault = FakeFault.HoldWholeBody;
        const string body = """{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";
        var prompt = TokenLimiter.EstimatePrompt((JsonObject)JsonNode.Parse(body)!, AiOperation.Chat);
        using var leaving = new CancellationTokenSource();
        var call = kit.Leaving.SendAsync(kit.Post(body), leaving.Token);
        await provider.FirstChunkSent.Task.WaitAsync(TimeSpan.FromSeconds(30));
        // The half body flushed: a moment for the gateway to read its headers and be reading the body.
        await Task.Delay(300);

        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await Wait.UntilAsync(() => AccessLogLines(log).Length == 1, "the request's access log line");
        Assert.Equal(499, JsonDocument.Parse(AccessLogLines(log)[0]).RootElement.GetProperty("status").GetInt32());
        if (onClientLeave == "cancel")
        {
            await provider.Abandoned.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the call settled");
            Assert.Equal((prompt, 0L), Limiter(kit).Read("gold", "app", 0));
            Assert.Equal(0, provider.ReportedTokens);
            await Wait.UntilAsync(() => _tokens.Any(t => t.Model == model), "the call's usage recorded");
            Assert.All(_tokens.Where(t => t.Model == model), t => Assert.True(t.Estimated));
            return;
        }

        // Still read without the client: the rest of the body, with the usage, comes once the provider is released.
        Assert.NotSame(provider.Abandoned.Task, await Task.WhenAny(provider.Abandoned.Task, Task.Delay(TimeSpan.FromMilliseconds(500))));
        Assert.Equal(prompt + 50, Limiter(kit).Read("gold", "app", 0).Reserved);
        provider.Release.SetResult();
        await kit.AssertTokensUsedAsync(12); // 7 prompt and 5 completion tokens, as the provider reported
        Assert.Equal(12, provider.ReportedTokens);
        await Wait.UntilAsync(() => _tokens.Any(t => t.Model == model), "the call's usage recorded");
        Assert.DoesNotContain(_tokens, t => t.Model == model && t.Estimated);
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

    // Reads a stream until what arrived holds text.
    private static async Task ReadUntilAsync(Stream stream, string text)
    {
        var seen = new StringBuilder();
        var buffer = new byte[4096];
        while (!seen.ToString().Contains(text, StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer);
            Assert.True(read > 0, seen.ToString());
            seen.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }
    }

    private static string AccessLog(string path) => $"gateway:\n  observability:\n    accessLog: {{ path: \"{path}\" }}";

    private static string[] AccessLogLines(string path) => File.Exists(path) ? File.ReadAllLines(path) : [];

    private sealed class DeleteOnDispose(string path) : IDisposable
    {
        public void Dispose() => File.Delete(path);
    }

    private long Recorded(string model) => _tokens.Where(t => t.Model == model).Sum(t => t.Value);

    private static TokenLimiter Limiter(AiKit kit) => kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
}
