using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Anthropic's Messages API (<c>POST /v1/messages</c>) through an <c>ai</c> service to Anthropic providers, with
/// Anthropic's own .NET SDK as the oracle (as Claude Code and the SDKs call it): whole and streamed answers passed
/// through, usage with the prompt cache into token limits, fallback, errors in Anthropic's shape, and token counts.
/// </summary>
[Trait("Issue", "22")]
public sealed class AnthropicMessagesTests
{
    private const string Models = "        claude: [ { provider: a0, model: claude-x }, { provider: a1, model: claude-y } ]\n        fast: [ { provider: p0, model: model-0 } ]\n";
    private const string TokenLimit = AiKit.DayTokenLimit;

    // What the provider reports per answer: input, the cache read, and the four words.
    private const long Reported = FakeAnthropic.InputTokens + FakeAnthropic.CacheRead + 4;

    [Fact]
    public async Task Create_AnthropicSdk_GetsTheProvidersMessage_UsageCountedWithTheCache()
    {
        await using var kit = await StartAsync();

        var message = await Client(kit).Messages.Create(Params("claude"));

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("a1 a2 a3 a4", text.Text);
        Assert.Equal(FakeAnthropic.InputTokens, message.Usage.InputTokens);
        var received = Assert.Single(kit.Anthropic[0].Received);
        Assert.Equal("/v1/messages", received.Path);
        Assert.Equal("claude-x", received.Body["model"]!.GetValue<string>());
        Assert.Equal(AiKit.ProviderSecret, received.Headers["x-api-key"].ToString()); // the gateway's key, not the client's
        Assert.Equal(AiProvider.AnthropicVersion, received.Headers["anthropic-version"].ToString());
        await kit.AssertTokensUsedAsync(Reported);
    }

    [Fact]
    public async Task Stream_AnthropicSdk_GetsEveryEventPassedThrough_UsageCounted()
    {
        await using var kit = await StartAsync();

        var text = new StringBuilder();
        var types = new List<string>();
        await foreach (var e in Client(kit).Messages.CreateStreaming(Params("claude")))
        {
            types.Add(e.Json.GetProperty("type").GetString()!);
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.Json.TryGetProperty("text", out var part))
            {
                text.Append(part.GetString());
            }
        }

        Assert.Equal("a1 a2 a3 a4", text.ToString());
        Assert.Equal("message_start", types[0]);
        Assert.Equal("message_stop", types[^1]);
        Assert.Contains("message_delta", types);
        await kit.AssertTokensUsedAsync(Reported);
    }

    [Fact]
    public async Task Stream_RawEventsAreTheProvidersByteForByte_PingIncluded()
    {
        await using var kit = await StartAsync();

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"claude","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages"));
        var events = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("event: message_start\ndata: {", events, StringComparison.Ordinal);
        Assert.Contains("event: ping\ndata: {\"type\":\"ping\"}\n\n", events, StringComparison.Ordinal);
        Assert.EndsWith("event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n", events, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Fallback_AcrossBothApis_FailingOpenAIProviderThenOverloadedAnthropic_TheNextAnthropicProviderAnswers()
    {
        await using var kit = await StartAsync(models: "        claude: [ { provider: p0, model: model-0 }, { provider: a0, model: claude-x }, { provider: a1, model: claude-y } ]\n");
        kit.Providers[0].Fault = FakeFault.ServerError;
        kit.Anthropic[0].Fault = AnthropicFault.Overloaded;

        var message = await Client(kit).Messages.Create(Params("claude"));

        Assert.Equal("/v1/chat/completions", Assert.Single(kit.Providers[0].Received).Path); // tried first, translated
        Assert.Single(kit.Anthropic[0].Received);
        Assert.Equal("claude-y", Assert.Single(kit.Anthropic[1].Received).Body["model"]!.GetValue<string>());
        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("a1 a2 a3 a4", text.Text);
    }

    [Fact]
    public async Task ProviderErrorMidStream_ReachesTheSdkAsAnError_EstimateCounted()
    {
        await using var kit = await StartAsync();
        kit.Anthropic[0].Fault = AnthropicFault.ErrorMidStream;

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var unused in Client(kit).Messages.CreateStreaming(Params("claude")))
            {
            }
        });

        var limiter = kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
        await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, "the call settled");
        // The provider's prompt (input and cache) from message_start, and the one word seen: not the reservation.
        Assert.Equal(FakeAnthropic.InputTokens + FakeAnthropic.CacheRead + TokenCounter.Count("a1"), limiter.Read("gold", "app", 0).Used);
        Assert.Empty(kit.Anthropic[1].Received); // a stream that had begun is not moved to another provider
    }

    [Fact]
    public async Task CountTokens_GoesToTheProvider_AndUsesAndRecordsNoTokens()
    {
        // The meter is shared by tests running in parallel: only this test's provider model counts.
        var recorded = new System.Collections.Concurrent.ConcurrentQueue<(string? Kind, long Tokens)>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == AiMetrics.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var ours = false;
            string? kind = null;
            foreach (var tag in tags)
            {
                ours |= tag.Key == "model" && (string?)tag.Value == "claude-count-5e2";
                kind = tag.Key == "kind" ? tag.Value as string : kind;
            }

            if (ours)
            {
                recorded.Enqueue((kind, value));
            }
        });
        listener.Start();
        await using var kit = await StartAsync(models: "        claude: [ { provider: a0, model: claude-count-5e2 } ]\n        fast: [ { provider: p0, model: model-0 } ]\n");

        var count = await Client(kit).Messages.CountTokens(new MessageCountTokensParams { Model = "claude", Messages = [new UserMessageParam("hi")] });

        Assert.Equal(FakeAnthropic.InputTokens, count.InputTokens);
        Assert.Equal("/v1/messages/count_tokens", Assert.Single(kit.Anthropic[0].Received).Path);
        Assert.Equal((0L, 0L), kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>().Read("gold", "app", 0));

        // A call of the same model is recorded (its prompt and its completion): once it is, those are all there is.
        await Client(kit).Messages.Create(Params("claude"));
        await Wait.UntilAsync(() => recorded.Count >= 2 && recorded.Contains(("prompt", FakeAnthropic.InputTokens + FakeAnthropic.CacheRead)), "the call recorded");
        Assert.Equal(2, recorded.Count);
    }

    [Fact]
    public async Task ModelsList_AnthropicSdkReadsTheAliasesInItsShape_OpenAIClientsInTheirs()
    {
        await using var kit = await StartAsync();

        var page = await Client(kit).Models.List();
        using var openAi = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        openAi.Headers.Add("X-Api-Key", kit.Key.Plaintext);
        var list = JsonNode.Parse(await (await kit.Gateway.Client.SendAsync(openAi)).Content.ReadAsStringAsync())!;
        using var anthropic = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        anthropic.Headers.Add("X-Api-Key", kit.Key.Plaintext);
        anthropic.Headers.Add("anthropic-version", "2023-06-01");
        var anthropicList = JsonNode.Parse(await (await kit.Gateway.Client.SendAsync(anthropic)).Content.ReadAsStringAsync())!;

        Assert.Equal(["claude", "fast"], page.Items.Select(m => m.ID));
        Assert.Equal(("claude", "claude"), await Client(kit).Models.Retrieve("claude") is var one ? (one.ID, one.DisplayName) : default);
        Assert.False(page.HasNext());
        Assert.Equal("list", list["object"]!.GetValue<string>());
        Assert.Equal(("model", "claude", false, "fast"), (anthropicList["data"]![0]!["type"]!.GetValue<string>(), anthropicList["first_id"]!.GetValue<string>(),
            anthropicList["has_more"]!.GetValue<bool>(), anthropicList["last_id"]!.GetValue<string>()));
        Assert.Equal(["claude", "fast"], list["data"]!.AsArray().Select(m => m!["id"]!.GetValue<string>()));
    }

    [Fact]
    public async Task AnthropicBeta_PassesWhenItIsAListOfNames_RefusedOtherwise()
    {
        await using var kit = await StartAsync();
        using var ok = kit.Post("""{"model":"claude","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages");
        ok.Headers.Add("anthropic-beta", "claude-code-20250219, interleaved-thinking-2025-05-14");
        ok.Headers.Add("anthropic-version", "1999-01-01");
        using var bad = kit.Post("""{"model":"claude","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages");
        bad.Headers.TryAddWithoutValidation("anthropic-beta", "a b;evil=1");

        using var passed = await kit.Gateway.Client.SendAsync(ok);
        using var refused = await kit.Gateway.Client.SendAsync(bad);
        var refusal = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.OK, passed.StatusCode);
        var received = Assert.Single(kit.Anthropic[0].Received);
        Assert.Equal("claude-code-20250219,interleaved-thinking-2025-05-14", received.Headers["anthropic-beta"].ToString());
        Assert.Equal(AiProvider.AnthropicVersion, received.Headers["anthropic-version"].ToString()); // the provider's, not the client's
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("invalid_request_error", refusal["error"]!["type"]!.GetValue<string>());
        Assert.Contains("anthropic-beta", refusal["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"model":"nope","max_tokens":64,"messages":[]}""", HttpStatusCode.NotFound, "not_found_error")]
    [InlineData("""{"model":"claude","max_tokens":64,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"file","file_id":"file_1"}}]}]}""", HttpStatusCode.BadRequest, "invalid_request_error")]
    [InlineData("""{"model":"claude","max_tokens":64,"container":"container_1","messages":[{"role":"user","content":"hi"}]}""", HttpStatusCode.BadRequest, "invalid_request_error")]
    public async Task GatewaysOwnErrors_AreInAnthropicsShape_AndNoProviderIsCalled(string json, HttpStatusCode status, string type)
    {
        await using var kit = await StartAsync();

        using var response = await kit.Gateway.Client.SendAsync(kit.Post(json, "/v1/messages"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(status, response.StatusCode);
        Assert.Equal("error", body["type"]!.GetValue<string>());
        Assert.Equal(type, body["error"]!["type"]!.GetValue<string>());
        Assert.False(string.IsNullOrWhiteSpace(body["error"]!["message"]!.GetValue<string>()));
        Assert.Empty(kit.Anthropic[0].Received);
        Assert.Empty(kit.Providers[0].Received);
    }

    [Fact]
    public async Task ProvidersOwn4xx_IsPassedOnAsItIs()
    {
        await using var kit = await StartAsync();
        kit.Anthropic[0].Fault = AnthropicFault.BadRequest;

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"claude","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("text content blocks", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(kit.Anthropic[1].Received);
    }

    [Fact]
    public void PromptEstimate_CountsSystemTextToolResultsAndToolInputs()
    {
        var body = (JsonObject)JsonNode.Parse("""
            {"system":[{"type":"text","text":"be brief"}],"messages":[
              {"role":"user","content":"one two"},
              {"role":"assistant","content":[{"type":"tool_use","id":"t","name":"f","input":{"city":"Paris"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":"sunny"}]}]}
            """)!;

        Assert.Equal(3 + TokenCounter.Count("be brief") + 3 + TokenCounter.Count("one two") + 3 + TokenCounter.Count("""{"city":"Paris"}""") + 3 + TokenCounter.Count("sunny"),
            TokenLimiter.EstimatePrompt(body, AiOperation.Messages));
    }

    [Fact]
    public void PromptEstimate_OfAChatCall_CountsItsToolsAndTheAssistantsToolCalls()
    {
        const string Tool = """{"type":"function","function":{"name":"weather","parameters":{"type":"object","properties":{"city":{"type":"string"}}}}}""";
        var body = (JsonObject)JsonNode.Parse($$$"""
            {"tools":[{{{Tool}}}],"messages":[
              {"role":"user","content":"one two"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"c","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},
              {"role":"tool","tool_call_id":"c","content":"sunny"}]}
            """)!;
        var call = body["messages"]![1]!["tool_calls"]![0]!["function"]!.ToJsonString();

        Assert.Equal(3 + 3 + TokenCounter.Count("one two") + 3 + TokenCounter.Count(call) + 3 + TokenCounter.Count("sunny") + TokenCounter.Count(Tool),
            TokenLimiter.EstimatePrompt(body, AiOperation.Chat));
    }

    private static Task<AiKit> StartAsync(string models = Models) =>
        AiKit.StartAsync(providerCount: 1, anthropicCount: 2, models: models, planExtra: TokenLimit);

    private static AnthropicClient Client(AiKit kit) => new() { ApiKey = kit.Key.Plaintext, BaseUrl = kit.Gateway.Url, MaxRetries = 0, Timeout = TimeSpan.FromSeconds(30) };

    private static MessageCreateParams Params(string model) => new() { Model = model, MaxTokens = 64, Messages = [new UserMessageParam("hi")] };
}
