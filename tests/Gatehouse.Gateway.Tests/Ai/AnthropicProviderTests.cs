using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Issue 22: an Anthropic Messages provider behind the OpenAI-compatible API. OpenAI's own .NET client is the oracle on
/// the client side; a fake Anthropic server on loopback (real Kestrel) is the provider.
/// </summary>
[Trait("Issue", "22")]
public sealed class AnthropicProviderTests
{
    private const string Claude = "        claude: [ { provider: a0, model: claude-test } ]\n";

    private static readonly BinaryData WeatherSchema = BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city"]}""");

    [Fact]
    public async Task Chat_OpenAIClient_TranslatedToMessagesAndBack()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude);

        ChatCompletion completion = await kit.OpenAI().GetChatClient("claude").CompleteChatAsync(
            [new SystemChatMessage("Be brief."), new UserChatMessage("hi"), new AssistantChatMessage("hello"), new UserChatMessage("again")],
            new ChatCompletionOptions { Temperature = 0.5f, StopSequences = { "END" } });

        Assert.Equal("a1 a2 a3 a4", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal((13, 4, 17), (completion.Usage.InputTokenCount, completion.Usage.OutputTokenCount, completion.Usage.TotalTokenCount));
        Assert.Equal("claude-test", completion.Model);
        var (path, headers, body) = Assert.Single(kit.Anthropic[0].Received);
        Assert.Equal("/v1/messages", path);
        Assert.Equal(AiKit.ProviderSecret, headers["x-api-key"].ToString());
        Assert.Equal("2023-06-01", headers["anthropic-version"].ToString());
        Assert.False(headers.ContainsKey("Authorization"), "the client's key never reaches the provider");
        Assert.Equal("claude-test", body["model"]!.GetValue<string>());
        Assert.Equal("Be brief.", body["system"]!.GetValue<string>());
        Assert.Equal(TokenLimiter.DefaultMaxTokens, body["max_tokens"]!.GetValue<int>());
        Assert.Equal(["user", "assistant", "user"], body["messages"]!.AsArray().Select(m => m!["role"]!.GetValue<string>()).ToArray());
        Assert.Equal("again", body["messages"]![2]!["content"]![0]!["text"]!.GetValue<string>());
        Assert.Equal(["END"], body["stop_sequences"]!.AsArray().Select(s => s!.GetValue<string>()).ToArray());
        Assert.Equal(0.5, body["temperature"]!.GetValue<double>(), 3);
        Assert.Null(body["stream_options"]);
    }

    [Theory]
    [InlineData("max_tokens", "length")]
    [InlineData("stop_sequence", "stop")]
    [InlineData("end_turn", "stop")]
    public async Task Chat_StopReason_MapsToFinishReason(string stopReason, string finishReason)
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude);
        kit.Anthropic[0].StopReason = stopReason;

        var whole = await kit.PostOkAsync("""{"model":"claude","messages":[{"role":"user","content":"hi"}]}""");
        var streamed = await kit.PostOkAsync("""{"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(finishReason, JsonNode.Parse(whole)!["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Contains($"\"finish_reason\":\"{finishReason}\"", streamed);
    }

    [Fact]
    public async Task PromptCache_OnTheProvider_MarksTheTranslatedCall_AndTheCacheReadsReachTheClient()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude, anthropicExtra: ", promptCache: true");

        var answer = JsonNode.Parse(await kit.PostOkAsync("""{"model":"claude","messages":[{"role":"system","content":"rules"},{"role":"user","content":"hi"}]}"""))!;

        var sent = Assert.Single(kit.Anthropic[0].Received).Body;
        Assert.Equal("""[{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}]""", sent["system"]!.ToJsonString());
        Assert.Equal("""{"type":"ephemeral"}""", sent["messages"]![0]!["content"]![0]!["cache_control"]!.ToJsonString());
        Assert.Equal(FakeAnthropic.CacheRead, answer["usage"]!["prompt_tokens_details"]!["cached_tokens"]!.GetValue<int>());
    }

    [Fact]
    public async Task ChatStream_OpenAIClient_ReceivesTextAndAnthropicsUsage()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude);

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in kit.OpenAI().GetChatClient("claude").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage = update.Usage ?? usage;
            finish = update.FinishReason ?? finish;
        }

        Assert.Equal("a1 a2 a3 a4", text.ToString());
        Assert.Equal(ChatFinishReason.Stop, finish);
        Assert.Equal((13, 4, 17), (usage?.InputTokenCount, usage?.OutputTokenCount, usage?.TotalTokenCount));
        Assert.True(kit.Anthropic[0].Received.Single().Body["stream"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ChatStream_Unbuffered_FirstChunkReachesClientBeforeProviderSendsTheRest()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude);
        kit.Anthropic[0].Fault = AnthropicFault.Gate;
        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"claude","stream":true,"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var seen = new StringBuilder();
        var buffer = new byte[4096];

        // The provider holds the rest back until the client has seen "a1": a buffering gateway would time out here.
        while (!seen.ToString().Contains("\"a1\"", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(read > 0, "the stream ended early: " + seen);
            seen.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        Assert.DoesNotContain("a2", seen.ToString());
        Assert.Contains("\"object\":\"chat.completion.chunk\"", seen.ToString());
        kit.Anthropic[0].Release.SetResult();
        var rest = await new StreamReader(stream).ReadToEndAsync();
        Assert.Contains("\" a4\"", rest);
        Assert.EndsWith("data: [DONE]\n\n", rest);
        Assert.DoesNotContain("\"usage\"", seen + rest); // the client did not ask for it
    }

    [Fact]
    public async Task Chat_ToolCall_RoundTripWithOpenAIClient()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude);
        var chat = kit.OpenAI().GetChatClient("claude");
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "The weather in a city", WeatherSchema) }, ToolChoice = ChatToolChoice.CreateRequiredChoice() };
        List<ChatMessage> messages = [new UserChatMessage("Weather in Paris?")];

        ChatCompletion first = await chat.CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        var call = Assert.Single(first.ToolCalls);
        Assert.Equal(("toolu_01", "get_weather"), (call.Id, call.FunctionName));
        Assert.Equal("Paris", JsonNode.Parse(call.FunctionArguments.ToString())!["city"]!.GetValue<string>());
        var sent = kit.Anthropic[0].Received.Single().Body;
        Assert.Equal("get_weather", sent["tools"]![0]!["name"]!.GetValue<string>());
        Assert.Equal("object", sent["tools"]![0]!["input_schema"]!["type"]!.GetValue<string>());
        Assert.Equal("any", sent["tool_choice"]!["type"]!.GetValue<string>());

        messages.Add(new AssistantChatMessage(first));
        messages.Add(new ToolChatMessage(call.Id, "sunny, 21 C"));
        ChatCompletion second = await chat.CompleteChatAsync(messages, options);

        Assert.Equal("a1 a2 a3 a4", second.Content[0].Text);
        var turns = kit.Anthropic[0].Received.Last().Body["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], turns.Select(m => m!["role"]!.GetValue<string>()).ToArray());
        var use = turns[1]!["content"]!.AsArray().Single(b => b!["type"]!.GetValue<string>() == "tool_use")!;
        Assert.Equal(("toolu_01", "get_weather", 2), (use["id"]!.GetValue<string>(), use["name"]!.GetValue<string>(), use["input"]!["days"]!.GetValue<int>()));
        var result = turns[2]!["content"]![0]!;
        Assert.Equal(("tool_result", "toolu_01", "sunny, 21 C"), (result["type"]!.GetValue<string>(), result["tool_use_id"]!.GetValue<string>(), result["content"]!.GetValue<string>()));
    }

    [Fact]
    public async Task ChatStream_ToolCall_InputJsonDeltasBecomeToolCallArguments()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude);
        var options = new ChatCompletionOptions { Tools = { ChatTool.CreateFunctionTool("get_weather", "The weather in a city", WeatherSchema) } };

        var arguments = new StringBuilder();
        string? id = null, name = null;
        ChatFinishReason? finish = null;
        var text = new StringBuilder();
        await foreach (var update in kit.OpenAI().GetChatClient("claude").CompleteChatStreamingAsync([new UserChatMessage("Weather in Paris?")], options))
        {
            foreach (var tool in update.ToolCallUpdates)
            {
                Assert.Equal(0, tool.Index);
                id ??= tool.ToolCallId;
                name ??= tool.FunctionName;
                arguments.Append(tool.FunctionArgumentsUpdate?.ToString());
            }

            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish = update.FinishReason ?? finish;
        }

        Assert.Equal(("toolu_01", "get_weather"), (id, name));
        Assert.Equal("""{"city": "Paris", "days": 2}""", arguments.ToString());
        Assert.Equal("Let me look.", text.ToString());
        Assert.Equal(ChatFinishReason.ToolCalls, finish);
    }

    [Fact]
    public async Task TokenLimit_CountsAnthropicsReportedUsage_WholeAndStreamed()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude, planExtra: AiKit.DayTokenLimit);
        var chat = kit.OpenAI().GetChatClient("claude");

        await chat.CompleteChatAsync([new UserChatMessage("a rather longer prompt than the fake counts, so an estimate would differ")]);
        await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
        }

        var limiter = kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
        await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, "every call settled");
        Assert.Equal(2 * (FakeAnthropic.InputTokens + FakeAnthropic.CacheRead + 4), kit.Anthropic[0].ReportedTokens);
        Assert.Equal((kit.Anthropic[0].ReportedTokens, 0L), limiter.Read("gold", "app", 0));
    }

    [Fact]
    public async Task TokenLimit_StreamBrokenMidWay_SettlesWithAnthropicsPromptAndTheRelayedText()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude, planExtra: AiKit.DayTokenLimit);
        kit.Anthropic[0].Fault = AnthropicFault.ErrorMidStream;

        using (var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"claude","stream":true,"max_tokens":500,"messages":[{"role":"user","content":"a rather longer prompt than the fake counts"}]}"""), HttpCompletionOption.ResponseHeadersRead))
        {
            await Assert.ThrowsAnyAsync<Exception>(() => response.Content.ReadAsStringAsync());
        }

        // No message_delta came: the prompt is what message_start reported, the completion the text relayed ("a1").
        var limiter = kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
        await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, "the broken call settled");
        Assert.Equal(FakeAnthropic.InputTokens + FakeAnthropic.CacheRead + TokenCounter.Count("a1"), limiter.Read("gold", "app", 0).Used);
    }

    [Theory]
    [InlineData(AnthropicFault.Overloaded)]
    [InlineData(AnthropicFault.ServerError)]
    [InlineData(AnthropicFault.Stall)]
    public async Task Chat_AnthropicFails_OpenAIProviderAnswers(AnthropicFault fault)
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, timeout: "1s", models: "        mixed: [ { provider: a0, model: claude-test }, { provider: p0, model: model-0 } ]\n");
        kit.Anthropic[0].Fault = fault;

        ChatCompletion completion = await kit.OpenAI().GetChatClient("mixed").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("w1 w2 w3 w4 w5", completion.Content[0].Text);
        Assert.Single(kit.Anthropic[0].Received);
        Assert.Equal("model-0", kit.Providers[0].Received.Single().Body["model"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(AnthropicFault.Overloaded)]
    [InlineData(AnthropicFault.ErrorFirst)]
    public async Task ChatStream_AnthropicFailsBeforeFirstByte_OpenAIProviderStreams(AnthropicFault fault)
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, models: "        mixed: [ { provider: a0, model: claude-test }, { provider: p0, model: model-0 } ]\n");
        kit.Anthropic[0].Fault = fault;

        var text = new StringBuilder();
        await foreach (var update in kit.OpenAI().GetChatClient("mixed").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }
        }

        Assert.Equal("w1 w2 w3 w4 w5", text.ToString());
        Assert.Single(kit.Anthropic[0].Received);
    }

    [Fact]
    public async Task Chat_OpenAIFails_AnthropicAnswers()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, models: "        mixed: [ { provider: p0, model: model-0 }, { provider: a0, model: claude-test } ]\n");
        kit.Providers[0].Fault = FakeFault.RateLimited;

        ChatCompletion completion = await kit.OpenAI().GetChatClient("mixed").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("a1 a2 a3 a4", completion.Content[0].Text);
        Assert.Equal("claude-test", kit.Anthropic[0].Received.Single().Body["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task ChatStream_AnthropicErrorAfterFirstChunk_EndsWithErrorEventNotSilently()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, models: "        mixed: [ { provider: a0, model: claude-test }, { provider: p0, model: model-0 } ]\n");
        kit.Anthropic[0].Fault = AnthropicFault.ErrorMidStream;
        var text = await kit.PostUntilAbortAsync("""{"model":"mixed","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Contains("\"a1\"", text);
        Assert.Contains("\"stream_interrupted\"", text);
        Assert.Contains("overloaded_error", text);
        Assert.DoesNotContain("[DONE]", text);
        Assert.Empty(kit.Providers[0].Received); // past the first byte, no fallback
    }

    [Fact]
    public async Task Chat_AnthropicRefusesTheRequest_ClientGetsItsErrorInOpenAIShape()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, models: "        mixed: [ { provider: a0, model: claude-test }, { provider: p0, model: model-0 } ]\n");
        kit.Anthropic[0].Fault = AnthropicFault.BadRequest;

        var e = await Assert.ThrowsAsync<ClientResultException>(() => kit.OpenAI().GetChatClient("mixed").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(400, e.Status);
        Assert.Contains("text content blocks must be non-empty", e.Message);
        Assert.Empty(kit.Providers[0].Received); // a bad request is not the provider failing
    }

    [Fact]
    public async Task Chat_RequestAnthropicCannotTake_400BeforeAnyProviderCall()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, models: Claude);

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"claude","n":2,"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("unsupported_request", json.RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Contains("'n'", json.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.Empty(kit.Anthropic[0].Received);
    }

    [Fact]
    public async Task Embeddings_AnthropicOnly_400AndOpenAIProviderUsedWhenListed()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, models: Claude + "        mixed: [ { provider: a0, model: claude-test }, { provider: p0, model: model-0 } ]\n");

        var e = await Assert.ThrowsAsync<ClientResultException>(() => kit.OpenAI().GetEmbeddingClient("claude").GenerateEmbeddingAsync("hello"));
        var embedding = await kit.OpenAI().GetEmbeddingClient("mixed").GenerateEmbeddingAsync("hello");

        Assert.Equal(400, e.Status);
        Assert.Contains("serves embeddings", e.Message);
        Assert.Equal([0.25f, 0.5f, 0.75f], embedding.Value.ToFloats().ToArray());
        Assert.Empty(kit.Anthropic[0].Received);
    }
}
