using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Model calls traced under OpenTelemetry's GenAI conventions, exported over OTLP to a real receiver: a client span per
/// provider attempt (fallback included) under the request's server span, with the model, the provider and the tokens,
/// and never a prompt, an answer or a key.
/// </summary>
[Trait("Issue", "22")]
[Collection(SerialCollection.Name)]
public sealed class AiTracingTests
{
    [Fact]
    public async Task EveryProviderAttempt_IsAGenAiClientSpan_WithTheTokens_AndNoPromptOrKey()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var kit = await AiKit.StartAsync(options: o => o with { TelemetrySettings = receiver.Settings() });
        try
        {
            kit.Providers[0].Fault = FakeFault.ServerError;
            await kit.PostOkAsync("""{"model":"fast","max_tokens":40,"messages":[{"role":"user","content":"a secret prompt"}]}""");
            kit.Providers[0].Fault = FakeFault.None;
            using var embeddings = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","input":"a secret text"}""", "/v1/embeddings"));
            Assert.True(embeddings.IsSuccessStatusCode);
        }
        finally
        {
            await kit.DisposeAsync(); // flushes the exporter
        }

        var servers = receiver.Spans.Where(s => s.Kind == OtlpSpan.Server && s.Attributes.GetValueOrDefault("gatehouse.route") == "ai").ToList();
        Assert.Equal(2, servers.Count);
        var server = servers.Single(s => receiver.Spans.Count(c => c.ParentSpanId == s.SpanId) == 2);
        var attempts = receiver.Spans.Where(s => s.Kind == OtlpSpan.Client && s.ParentSpanId == server.SpanId).ToList();
        var embedded = Assert.Single(receiver.Spans, s => s.Kind == OtlpSpan.Client && s.ParentSpanId == servers.Single(v => v != server).SpanId);
        Assert.Equal(("embeddings model-0", "embeddings", "7"), (embedded.Name, embedded.Attributes["gen_ai.operation.name"], embedded.Attributes["gen_ai.usage.input_tokens"]));
        Assert.Equal(["chat model-0", "chat model-1"], attempts.Select(s => s.Name));
        var failed = attempts[0].Attributes;
        Assert.Equal(("openai", "model-0", "p0", "500", "500"), (failed["gen_ai.provider.name"], failed["gen_ai.request.model"], failed["gatehouse.ai.provider"], failed["http.response.status_code"], failed["error.type"]));
        var answered = attempts[1].Attributes;
        Assert.Equal(("chat", "fast", "40", "7", "5"), (answered["gen_ai.operation.name"], answered["gatehouse.ai.alias"], answered["gen_ai.request.max_tokens"], answered["gen_ai.usage.input_tokens"], answered["gen_ai.usage.output_tokens"]));
        Assert.Equal("127.0.0.1", answered["server.address"]);
        Assert.False(answered.ContainsKey("error.type"));
        var exported = System.Text.Encoding.Latin1.GetString(receiver.AllBytes);
        Assert.DoesNotContain("a secret prompt", exported, StringComparison.Ordinal);
        Assert.DoesNotContain("a secret text", exported, StringComparison.Ordinal);
        Assert.DoesNotContain("w1 w2", exported, StringComparison.Ordinal);
        Assert.DoesNotContain(AiKit.ProviderSecret, exported, StringComparison.Ordinal);
    }

    /// <summary>
    /// A provider that fails after its client left, before its response headers came, while the gateway finishes the call
    /// for it (<c>onClientLeave: finish</c>): its span ends as the same failure's does with the client there, with the
    /// status, <c>error.type</c> and the error status, not as an answer.
    /// </summary>
    [Fact]
    public async Task AProviderThatFailsAfterItsClientLeft_BeforeItsHeaders_EndsItsSpanWithTheError_AsWithTheClientThere()
    {
        await using var receiver = await OtlpReceiver.StartAsync();
        var kit = await AiKit.StartAsync(providerCount: 1, timeout: "60s", planExtra: AiKit.DayTokenLimit, options: o => o with { TelemetrySettings = receiver.Settings() });
        var provider = kit.Providers[0];
        const string body = """{"model":"fast","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""";
        try
        {
            (provider.Fault, provider.Released) = (FakeFault.HoldHeaders, FakeRelease.ServerError);
            using (var leaving = new CancellationTokenSource())
            {
                var call = kit.Leaving.SendAsync(kit.Post(body), HttpCompletionOption.ResponseHeadersRead, leaving.Token);
                await Wait.UntilAsync(() => !provider.Received.IsEmpty, "the provider got the call");
                await leaving.CancelAsync();
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            }

            // The request's span ends when the gateway saw its client leave: only then does the provider fail.
            await Wait.UntilAsync(() => receiver.Spans.Any(s => s.Kind == OtlpSpan.Server), TimeSpan.FromSeconds(30), "the left request's span");
            provider.Release.SetResult();
            var limiter = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Gatehouse.Gateway.Ai.TokenLimiter>(kit.Gateway.Host.Services);
            await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, TimeSpan.FromSeconds(30), "the call settled");

            // The same failure with the client there.
            provider.Fault = FakeFault.ServerError;
            using var failed = await kit.Gateway.Client.SendAsync(kit.Post(body));
            Assert.Equal(System.Net.HttpStatusCode.BadGateway, failed.StatusCode);
        }
        finally
        {
            await kit.DisposeAsync(); // flushes the exporter
        }

        var servers = receiver.Spans.Where(s => s.Kind == OtlpSpan.Server && s.Attributes.GetValueOrDefault("gatehouse.route") == "ai").ToList();
        Assert.Equal(2, servers.Count);
        var (left, there) = (Attempt(servers[0]), Attempt(servers[1])); // in the order they ended
        Assert.Equal(("500", "500", OtlpSpan.Error), (there.Attributes["http.response.status_code"], there.Attributes["error.type"], there.StatusCode));
        Assert.Equal(("500", "500", OtlpSpan.Error), (left.Attributes.GetValueOrDefault("http.response.status_code"), left.Attributes.GetValueOrDefault("error.type"), left.StatusCode));

        OtlpSpan Attempt(OtlpSpan server) => Assert.Single(receiver.Spans, s => s.Kind == OtlpSpan.Client && s.ParentSpanId == server.SpanId);
    }
}
