using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Anthropic;
using Anthropic.Models.Messages;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Anthropic's Messages API (<c>POST /v1/messages</c>, as Claude Code and Anthropic's SDKs call it) to models whose
/// providers speak only OpenAI's API (vLLM, Ollama, OpenAI): the call translated to a chat completion and its answer,
/// whole or streamed, back to a Message, with Anthropic's own .NET SDK as the oracle. Tool calls both ways, usage into
/// token limits, fallback, errors in Anthropic's shape, and token counts made by the gateway.
/// </summary>
[Trait("Issue", "22")]
public sealed class MessagesTranslationTests
{
    private const string Models = "        local: [ { provider: p0, model: model-0 }, { provider: p1, model: model-1 } ]\n";
    private const string TokenLimit = AiKit.DayTokenLimit;

    // The fake provider's usage: 7 prompt tokens and one a word.
    private const long Reported = 7 + 5;

    [Fact]
    public async Task Create_AnthropicSdk_GetsAMessage_FromAnOpenAIFormatProvider()
    {
        await using var kit = await StartAsync();

        var message = await Client(kit).Messages.Create(new MessageCreateParams
        {
            Model = "local",
            MaxTokens = 64,
            System = "be brief",
            StopSequences = ["END"],
            Messages = [new UserMessageParam("hi")],
        });

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("w1 w2 w3 w4 w5", text.Text);
        Assert.Equal("end_turn", message.RawData["stop_reason"].GetString());
        Assert.Equal((7L, 5L), (message.Usage.InputTokens, message.Usage.OutputTokens));
        var received = Assert.Single(kit.Providers[0].Received);
        Assert.Equal("/v1/chat/completions", received.Path);
        Assert.Equal(
            """{"model":"model-0","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"max_tokens":64,"stop":["END"]}""",
            received.Body.ToJsonString());
        Assert.Equal("Bearer " + AiKit.ProviderSecret, received.Authorization); // the gateway's key, not the client's
        Assert.False(received.Headers.ContainsKey("anthropic-version"));
        await kit.AssertTokensUsedAsync(Reported);
    }

    [Fact]
    public async Task Stream_AnthropicSdk_ReadsAnthropicsEvents_TranslatedOneByOne_UsageCounted()
    {
        await using var kit = await StartAsync();

        var text = new StringBuilder();
        var types = new List<string>();
        JsonElement? usage = null;
        await foreach (var e in Client(kit).Messages.CreateStreaming(Params("local")))
        {
            types.Add(e.Json.GetProperty("type").GetString()!);
            if (e.TryPickContentBlockDelta(out var delta) && delta.Delta.Json.TryGetProperty("text", out var part))
            {
                text.Append(part.GetString());
            }

            if (e.Json.GetProperty("type").GetString() == "message_delta")
            {
                usage = e.Json.GetProperty("usage").Clone();
            }
        }

        Assert.Equal("w1 w2 w3 w4 w5", text.ToString());
        Assert.Equal(["message_start", "content_block_start", .. Enumerable.Repeat("content_block_delta", 5), "content_block_stop", "message_delta", "message_stop"], types);
        Assert.Equal((7, 5), (usage!.Value.GetProperty("input_tokens").GetInt32(), usage.Value.GetProperty("output_tokens").GetInt32()));
        var received = Assert.Single(kit.Providers[0].Received).Body;
        Assert.True(received["stream_options"]!["include_usage"]!.GetValue<bool>()); // the gateway asks for usage
        await kit.AssertTokensUsedAsync(Reported);
    }

    [Fact]
    public async Task ToolUse_Whole_TheModelsCallIsAToolUseBlock_AndItsResultGoesBackAsAToolMessage()
    {
        await using var kit = await StartAsync();
        var weather = new Tool
        {
            Name = "weather",
            Description = "The weather in a city",
            InputSchema = new InputSchema
            {
                Properties = new Dictionary<string, JsonElement> { ["city"] = JsonSerializer.SerializeToElement(new { type = "string" }) },
                Required = ["city"],
            },
        };

        var message = await Client(kit).Messages.Create(new MessageCreateParams
        {
            Model = "local",
            MaxTokens = 64,
            Messages = [new UserMessageParam("weather in Paris?")],
            Tools = [weather],
            ToolChoice = new ToolChoiceAny { DisableParallelToolUse = true },
        });

        Assert.True(message.Content[0].TryPickText(out var preamble));
        Assert.Equal(FakeProvider.ToolPreamble, preamble.Text);
        Assert.True(message.Content[1].TryPickToolUse(out var use));
        Assert.Equal(("call_1", "weather", "Paris"), (use.ID, use.Name, use.Input["city"].GetString()));
        Assert.Equal("tool_use", message.RawData["stop_reason"].GetString());
        // 3 of the 7 prompt tokens were read from the provider's cache: Anthropic reports them apart.
        Assert.Equal((4L, 3L, (long)FakeProvider.ToolCompletionTokens), (message.Usage.InputTokens, message.Usage.CacheReadInputTokens ?? -1, message.Usage.OutputTokens));
        var sent = Assert.Single(kit.Providers[0].Received).Body;
        Assert.Equal(
            """[{"type":"function","function":{"name":"weather","description":"The weather in a city","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}]""",
            sent["tools"]!.ToJsonString());
        Assert.Equal(("required", false), (sent["tool_choice"]!.GetValue<string>(), sent["parallel_tool_calls"]!.GetValue<bool>()));

        // The next turn: the assistant's tool_use and the user's tool_result, as Claude Code sends them.
        var next = """
            {"model":"local","max_tokens":64,"temperature":0.5,"top_p":0.9,"top_k":5,"metadata":{"user_id":"u1"},"tools":[{"name":"weather","input_schema":{"type":"object"}}],"messages":[
              {"role":"user","content":"weather in Paris?"},
              {"role":"assistant","content":[{"type":"thinking","thinking":"hm","signature":"sig"},{"type":"text","text":"Checking."},{"type":"tool_use","id":"call_1","name":"weather","input":{"city":"Paris"}}]},
              {"role":"user","content":[{"type":"tool_result","tool_use_id":"call_1","content":[{"type":"text","text":"sunny"}]},{"type":"text","text":"and tomorrow?"}]}]}
            """;
        using var second = await kit.Gateway.Client.SendAsync(kit.Post(next, "/v1/messages"));
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var sentNext = kit.Providers[0].Received.Last().Body;
        var messages = sentNext["messages"]!;
        Assert.Equal((0.5, 0.9, "u1", false), (sentNext["temperature"]!.GetValue<double>(), sentNext["top_p"]!.GetValue<double>(), sentNext["user"]!.GetValue<string>(), sentNext.ContainsKey("top_k")));
        Assert.Equal(
            """[{"role":"user","content":"weather in Paris?"},{"role":"assistant","content":"Checking.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\u0022city\u0022:\u0022Paris\u0022}"}}]},{"role":"tool","tool_call_id":"call_1","content":"sunny"},{"role":"user","content":"and tomorrow?"}]""",
            messages.ToJsonString());
    }

    [Fact]
    public async Task ToolUse_Streamed_ArgumentsArriveAsInputJsonDeltas_InTheirOwnBlock()
    {
        await using var kit = await StartAsync();
        var events = new List<JsonElement>();
        await foreach (var e in Client(kit).Messages.CreateStreaming(new MessageCreateParams
        {
            Model = "local",
            MaxTokens = 64,
            Messages = [new UserMessageParam("weather in Paris?")],
            Tools = [new Tool { Name = "weather", InputSchema = new InputSchema { Properties = new Dictionary<string, JsonElement>() } }],
        }))
        {
            events.Add(e.Json.Clone());
        }

        string Type(JsonElement e) => e.GetProperty("type").GetString()!;
        var toolStart = events.Single(e => Type(e) == "content_block_start" && e.GetProperty("content_block").GetProperty("type").GetString() == "tool_use");
        var json = string.Concat(events.Where(e => Type(e) == "content_block_delta" && e.GetProperty("delta").GetProperty("type").GetString() == "input_json_delta")
            .Select(e => e.GetProperty("delta").GetProperty("partial_json").GetString()));
        var text = string.Concat(events.Where(e => Type(e) == "content_block_delta" && e.GetProperty("delta").GetProperty("type").GetString() == "text_delta")
            .Select(e => e.GetProperty("delta").GetProperty("text").GetString()));
        var stops = events.Where(e => Type(e) == "content_block_stop").Select(e => e.GetProperty("index").GetInt32()).ToArray();

        Assert.Equal(FakeProvider.ToolPreamble, text);
        Assert.Equal(FakeProvider.ToolArguments, json);
        Assert.Equal((1, "call_1", "weather"), (toolStart.GetProperty("index").GetInt32(), toolStart.GetProperty("content_block").GetProperty("id").GetString(), toolStart.GetProperty("content_block").GetProperty("name").GetString()));
        Assert.Equal([0, 1], stops); // the text block closed before the tool's opened, each once
        Assert.Equal("tool_use", events.Single(e => Type(e) == "message_delta").GetProperty("delta").GetProperty("stop_reason").GetString());
        await kit.AssertTokensUsedAsync(7 + FakeProvider.ToolCompletionTokens);
    }

    [Fact]
    public async Task Fallback_FailingProvider_TheNextAnswers()
    {
        await using var kit = await StartAsync();
        kit.Providers[0].Fault = FakeFault.ServerError;

        var message = await Client(kit).Messages.Create(Params("local"));

        Assert.True(message.Content[0].TryPickText(out _));
        Assert.Equal("model-1", Assert.Single(kit.Providers[1].Received).Body["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task ProvidersOwn4xx_IsInAnthropicsShape_WithTheProvidersMessage()
    {
        await using var kit = await StartAsync();
        kit.Providers[0].Fault = FakeFault.BadRequest;

        var error = await Assert.ThrowsAnyAsync<Exception>(() => Client(kit).Messages.Create(Params("local")));
        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"local","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Contains("context length", error.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(("error", "invalid_request_error"), (body["type"]!.GetValue<string>(), body["error"]!["type"]!.GetValue<string>()));
        Assert.Contains("context length", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(kit.Providers[1].Received); // a refusal of the call itself is not moved to another provider
    }

    [Fact]
    public async Task CutMidStream_EndsWithAnthropicsErrorEvent_AndTheSeenTextIsCounted()
    {
        await using var kit = await StartAsync();
        kit.Providers[0].Fault = FakeFault.CutMidStream;

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"local","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages"), HttpCompletionOption.ResponseHeadersRead);
        var events = await ReadUntilEndAsync(response);

        Assert.StartsWith("event: message_start\n", events, StringComparison.Ordinal);
        Assert.Contains("event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"", events, StringComparison.Ordinal);
        Assert.DoesNotContain("message_stop", events, StringComparison.Ordinal);
        var limiter = kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
        await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, "the call settled");
        var prompt = TokenLimiter.EstimatePrompt((JsonObject)JsonNode.Parse("""{"messages":[{"role":"user","content":"hi"}]}""")!, AiOperation.Messages);
        Assert.Equal(prompt + TokenCounter.Count("w1 w2"), limiter.Read("gold", "app", 0).Used);
    }

    [Fact]
    public async Task CountTokens_ModelWithoutAnAnthropicProvider_IsCountedByTheGateway_NoProviderCalled()
    {
        await using var kit = await StartAsync();
        const string Call = """{"model":"local","system":"be brief","tools":[{"name":"weather","input_schema":{"type":"object"}}],"messages":[{"role":"user","content":"how is the weather in Paris today?"}]}""";

        var count = await Client(kit).Messages.CountTokens(new MessageCountTokensParams { Model = "local", Messages = [new UserMessageParam("how is the weather in Paris today?")] });
        using var response = await kit.Gateway.Client.SendAsync(kit.Post(Call, "/v1/messages/count_tokens"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(TokenLimiter.EstimatePrompt((JsonObject)JsonNode.Parse("""{"messages":[{"role":"user","content":"how is the weather in Paris today?"}]}""")!, AiOperation.Messages), count.InputTokens);
        Assert.Equal(TokenLimiter.EstimatePrompt((JsonObject)JsonNode.Parse(Call)!, AiOperation.Messages), body["input_tokens"]!.GetValue<long>());
        Assert.True(body["input_tokens"]!.GetValue<long>() > count.InputTokens + TokenCounter.Count("be brief")); // the tool's definition counts too
        Assert.Empty(kit.Providers[0].Received);
        Assert.Equal((0L, 0L), kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>().Read("gold", "app", 0));
    }

    [Theory]
    [InlineData("""{"model":"local","max_tokens":64,"tools":[{"type":"web_search_20250305","name":"web_search"}],"messages":[{"role":"user","content":"hi"}]}""", "web_search_20250305")]
    [InlineData("""{"model":"local","max_tokens":64,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]}""", "document")]
    [InlineData("""{"model":"local","max_tokens":64,"messages":[{"role":"system","content":"hi"}]}""", "role")]
    public async Task WhatAnOpenAIFormatProviderCannotTake_IsRefusedInAnthropicsShape_NotDropped(string json, string named)
    {
        await using var kit = await StartAsync();

        using var response = await kit.Gateway.Client.SendAsync(kit.Post(json, "/v1/messages"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request_error", body["error"]!["type"]!.GetValue<string>());
        Assert.Contains(named, body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(kit.Providers[0].Received);
        Assert.Empty(kit.Providers[1].Received);
    }

    [Fact]
    public async Task WhatOneProviderCannotTake_GoesToTheAliasEntryThatCan()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1,
            models: "        mixed: [ { provider: p0, model: model-0 }, { provider: a0, model: claude-x } ]\n        claudefirst: [ { provider: a0, model: claude-x }, { provider: p0, model: model-0 } ]\n");

        // A document has no OpenAI form: the Anthropic entry takes it as it is.
        using var document = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"mixed","max_tokens":64,"messages":[{"role":"user","content":[{"type":"document","source":{"type":"text","media_type":"text/plain","data":"x"}}]}]}""", "/v1/messages"));
        // n = 2 has no Anthropic form: the OpenAI entry takes it.
        using var choices = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"claudefirst","n":2,"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.Equal("document", Assert.Single(kit.Anthropic[0].Received).Body["messages"]![0]!["content"]![0]!["type"]!.GetValue<string>());
        Assert.Equal(HttpStatusCode.OK, choices.StatusCode);
        Assert.Equal(2, Assert.Single(kit.Providers[0].Received).Body["n"]!.GetValue<int>());
    }

    private static async Task<string> ReadUntilEndAsync(HttpResponseMessage response)
    {
        var text = new StringBuilder();
        var buffer = new byte[4096];
        try
        {
            await using var stream = await response.Content.ReadAsStreamAsync();
            int read;
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                text.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            // The gateway aborts a broken stream after its error event.
        }

        return text.ToString();
    }

    private static Task<AiKit> StartAsync() => AiKit.StartAsync(providerCount: 2, models: Models, planExtra: TokenLimit);

    private static AnthropicClient Client(AiKit kit) => new() { ApiKey = kit.Key.Plaintext, BaseUrl = kit.Gateway.Url, MaxRetries = 0, Timeout = TimeSpan.FromSeconds(30) };

    private static MessageCreateParams Params(string model) => new() { Model = model, MaxTokens = 64, Messages = [new UserMessageParam("hi")] };
}
