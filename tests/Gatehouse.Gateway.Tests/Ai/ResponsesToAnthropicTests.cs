using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // the Responses client is marked experimental in OpenAI's .NET library

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// OpenAI's Responses API (<c>POST /v1/responses</c>, as the Agents SDK and Codex call it) to models whose providers
/// are Anthropic's: the call translated to a Messages call (through chat completions' form) and the answer, whole or as
/// the Responses API's typed events, back; OpenAI's own .NET client is the oracle. Function calls both ways, usage into
/// token limits, fallback, and what has no Anthropic form refused.
/// </summary>
[Trait("Issue", "22")]
public sealed class ResponsesToAnthropicTests
{
    private const string Models = "        claude: [ { provider: a0, model: claude-x }, { provider: a1, model: claude-y } ]\n";
    private const string TokenLimit = AiKit.DayTokenLimit;

    // What the provider reports per text answer: input, the cache read, and the four words.
    private const long Reported = FakeAnthropic.InputTokens + FakeAnthropic.CacheRead + 4;

    [Fact]
    public async Task Create_OpenAIClient_GetsAResponse_FromAnAnthropicProvider()
    {
        await using var kit = await StartAsync();

        ResponseResult response = await kit.OpenAI().GetResponsesClient().CreateResponseAsync(new CreateResponseOptions
        {
            Model = "claude",
            Instructions = "be brief",
            InputItems = { ResponseItem.CreateUserMessageItem("hi") },
            MaxOutputTokenCount = 64,
            Temperature = 0.5f,
        });

        Assert.Equal("a1 a2 a3 a4", response.GetOutputText());
        Assert.Equal(ResponseStatus.Completed, response.Status);
        Assert.StartsWith("resp_", response.Id, StringComparison.Ordinal);
        Assert.Equal((13, 2, 4), (response.Usage.InputTokenCount, response.Usage.InputTokenDetails.CachedTokenCount, response.Usage.OutputTokenCount));
        var received = Assert.Single(kit.Anthropic[0].Received);
        Assert.Equal("/v1/messages", received.Path);
        Assert.Equal(
            """{"model":"claude-x","max_tokens":64,"system":"be brief","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}],"temperature":0.5}""",
            received.Body.ToJsonString());
        await kit.AssertTokensUsedAsync(Reported);
    }

    [Fact]
    public async Task Stream_OpenAIClient_ReadsTheResponsesEvents_InSequence_UsageCounted()
    {
        await using var kit = await StartAsync();

        var text = new StringBuilder();
        var sequence = new List<int>();
        var kinds = new List<string>();
        ResponseResult? completed = null;
        await foreach (var update in await kit.OpenAI().GetResponsesClient().CreateResponseStreamingAsync("claude", "hi"))
        {
            sequence.Add(update.SequenceNumber);
            kinds.Add(update.GetType().Name);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.Equal("a1 a2 a3 a4", text.ToString());
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.Equal(nameof(StreamingResponseCreatedUpdate), kinds[0]);
        Assert.Equal(nameof(StreamingResponseCompletedUpdate), kinds[^1]);
        Assert.Contains(nameof(StreamingResponseOutputItemDoneUpdate), kinds);
        Assert.Equal("a1 a2 a3 a4", completed!.GetOutputText());
        Assert.Equal(Reported, completed.Usage.TotalTokenCount);
        Assert.True(Assert.Single(kit.Anthropic[0].Received).Body["stream"]!.GetValue<bool>());
        await kit.AssertTokensUsedAsync(Reported);
    }

    [Fact]
    public async Task FunctionCalls_BothWays_TheModelsCallIsAFunctionCallItem_AndItsOutputGoesBackAsAToolResult()
    {
        await using var kit = await StartAsync();
        var client = kit.OpenAI().GetResponsesClient();
        var weather = ResponseTool.CreateFunctionTool("weather", BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}}}"""), null, "The weather in a city");

        ResponseResult first = await client.CreateResponseAsync(new CreateResponseOptions { Model = "claude", InputItems = { ResponseItem.CreateUserMessageItem("weather in Paris?") }, Tools = { weather } });

        var call = Assert.Single(first.OutputItems.OfType<FunctionCallResponseItem>());
        Assert.Equal(("toolu_01", "weather"), (call.CallId, call.FunctionName));
        Assert.Equal("Paris", JsonNode.Parse(call.FunctionArguments.ToString())!["city"]!.GetValue<string>());
        Assert.Equal("Let me look.", first.GetOutputText());
        var sent = kit.Anthropic[0].Received.Last().Body;
        Assert.Equal("""[{"name":"weather","description":"The weather in a city","input_schema":{"type":"object","properties":{"city":{"type":"string"}}}}]""", sent["tools"]!.ToJsonString());

        ResponseResult second = await client.CreateResponseAsync(new CreateResponseOptions
        {
            Model = "claude",
            InputItems =
            {
                ResponseItem.CreateUserMessageItem("weather in Paris?"),
                ResponseItem.CreateFunctionCallItem(call.CallId, call.FunctionName, call.FunctionArguments),
                ResponseItem.CreateFunctionCallOutputItem(call.CallId, "sunny"),
            },
            Tools = { weather },
        });

        Assert.Equal("a1 a2 a3 a4", second.GetOutputText());
        Assert.Equal(
            """[{"role":"user","content":[{"type":"text","text":"weather in Paris?"}]},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_01","name":"weather","input":{"city":"Paris","days":2}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_01","content":"sunny"}]}]""",
            kit.Anthropic[0].Received.Last().Body["messages"]!.ToJsonString());
    }

    [Fact]
    public async Task FunctionCall_Streamed_ArgumentsArriveAsDeltas_AndTheDoneItemHasThemWhole()
    {
        await using var kit = await StartAsync();
        var weather = ResponseTool.CreateFunctionTool("weather", BinaryData.FromString("""{"type":"object"}"""), null, null);
        var arguments = new StringBuilder();
        FunctionCallResponseItem? done = null;
        var added = new List<string>();

        await foreach (var update in await kit.OpenAI().GetResponsesClient().CreateResponseStreamingAsync(new CreateResponseOptions { Model = "claude", StreamingEnabled = true, InputItems = { ResponseItem.CreateUserMessageItem("weather?") }, Tools = { weather } }))
        {
            switch (update)
            {
                case StreamingResponseFunctionCallArgumentsDeltaUpdate delta:
                    arguments.Append(delta.Delta.ToString());
                    break;
                case StreamingResponseOutputItemAddedUpdate item:
                    added.Add(item.Item switch { MessageResponseItem => "message", FunctionCallResponseItem => "function_call", _ => item.Item.GetType().Name });
                    break;
                case StreamingResponseOutputItemDoneUpdate { Item: FunctionCallResponseItem call }:
                    done = call;
                    break;
            }
        }

        Assert.Equal(["message", "function_call"], added);
        Assert.Equal("""{"city": "Paris", "days": 2}""", arguments.ToString());
        Assert.Equal(arguments.ToString(), done!.FunctionArguments.ToString());
        Assert.Equal("toolu_01", done.CallId);
    }

    [Fact]
    public async Task Fallback_OverloadedProvider_TheNextAnswers()
    {
        await using var kit = await StartAsync();
        kit.Anthropic[0].Fault = AnthropicFault.Overloaded;

        ResponseResult response = await kit.OpenAI().GetResponsesClient().CreateResponseAsync("claude", "hi");

        Assert.Equal("a1 a2 a3 a4", response.GetOutputText());
        Assert.Equal("claude-y", Assert.Single(kit.Anthropic[1].Received).Body["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task ErrorMidStream_EndsWithTheResponsesErrorEvent_AndTheSeenTextIsCounted()
    {
        await using var kit = await StartAsync();
        kit.Anthropic[0].Fault = AnthropicFault.ErrorMidStream;

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var unused in await kit.OpenAI().GetResponsesClient().CreateResponseStreamingAsync("claude", "hi"))
            {
            }
        });

        var limiter = kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
        await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, "the call settled");
        Assert.Equal(FakeAnthropic.InputTokens + FakeAnthropic.CacheRead + TokenCounter.Count("a1"), limiter.Read("gold", "app", 0).Used);
        Assert.Empty(kit.Anthropic[1].Received);
    }

    [Theory]
    [InlineData("""{"model":"claude","input":"hi","tools":[{"type":"web_search"}]}""", "web_search")]
    [InlineData("""{"model":"claude","input":"hi","text":{"format":{"type":"json_schema","name":"x","schema":{}}}}""", "json_schema")]
    [InlineData("""{"model":"claude","input":[{"type":"computer_call_output","call_id":"c","output":{}}]}""", "computer_call_output")]
    [InlineData("""{"model":"claude","input":[{"role":"user","content":[{"type":"input_file","file_data":"x"}]}]}""", "input_file")]
    public async Task WhatAnAnthropicProviderCannotTake_IsRefused_NoProviderCalled(string json, string named)
    {
        await using var kit = await StartAsync();

        using var response = await kit.Gateway.Client.SendAsync(kit.Post(json, "/v1/responses"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unsupported_request", body["error"]!["code"]!.GetValue<string>());
        Assert.Contains(named, body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(kit.Anthropic[0].Received);
    }

    [Fact]
    public async Task MaxTokensStop_MakesTheResponseIncomplete()
    {
        await using var kit = await StartAsync();
        kit.Anthropic[0].StopReason = "max_tokens";

        ResponseResult response = await kit.OpenAI().GetResponsesClient().CreateResponseAsync("claude", "hi");
        using var raw = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"claude","input":"hi","stream":true}""", "/v1/responses"));
        var events = await raw.Content.ReadAsStringAsync();

        Assert.Equal(ResponseStatus.Incomplete, response.Status);
        Assert.Equal(ResponseIncompleteStatusReason.MaxOutputTokens, response.IncompleteStatusDetails.Reason);
        Assert.Contains("event: response.incomplete\ndata: {\"type\":\"response.incomplete\"", events, StringComparison.Ordinal);
        Assert.DoesNotContain("response.completed", events, StringComparison.Ordinal);
    }

    private static Task<AiKit> StartAsync() => AiKit.StartAsync(providerCount: 0, anthropicCount: 2, models: Models, planExtra: TokenLimit);
}
