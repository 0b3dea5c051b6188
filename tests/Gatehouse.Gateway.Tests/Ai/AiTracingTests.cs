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
}
