using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // the Responses client is marked experimental in OpenAI's .NET library

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// OpenAI's Responses API to servers that have only chat completions (<c>responsesApi: false</c>: DeepSeek's, Mistral's,
/// Gemini's compatibility API, older local servers): the call translated to a chat completion and the answer, whole or
/// as the Responses API's events, back, with OpenAI's own .NET client as the oracle.
/// </summary>
[Trait("Issue", "22")]
public sealed class ResponsesToChatTests
{
    private const string TokenLimit = AiKit.DayTokenLimit;

    [Fact]
    public async Task Create_GoesAsAChatCall_AndTheAnswerIsAResponse_UsageCounted()
    {
        await using var kit = await StartAsync();

        ResponseResult response = await kit.OpenAI().GetResponsesClient().CreateResponseAsync(new CreateResponseOptions
        {
            Model = "fast",
            Instructions = "be brief",
            InputItems = { ResponseItem.CreateUserMessageItem("hi") },
            MaxOutputTokenCount = 64,
        });

        Assert.Equal("w1 w2 w3 w4 w5", response.GetOutputText());
        Assert.Equal((7, 5), (response.Usage.InputTokenCount, response.Usage.OutputTokenCount));
        var received = Assert.Single(kit.Providers[0].Received);
        Assert.Equal("/v1/chat/completions", received.Path);
        Assert.Equal("""{"messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"max_tokens":64,"model":"model-0"}""", received.Body.ToJsonString());
        await kit.AssertTokensUsedAsync(12);
    }

    [Fact]
    public async Task Stream_TheChatChunksBecomeTheResponsesEvents_UsageAskedForAndCounted()
    {
        await using var kit = await StartAsync();

        var text = new StringBuilder();
        var sequence = new List<int>();
        ResponseResult? completed = null;
        await foreach (var update in await kit.OpenAI().GetResponsesClient().CreateResponseStreamingAsync("fast", "hi"))
        {
            sequence.Add(update.SequenceNumber);
            if (update is StreamingResponseOutputTextDeltaUpdate delta)
            {
                text.Append(delta.Delta);
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                completed = done.Response;
            }
        }

        Assert.Equal("w1 w2 w3 w4 w5", text.ToString());
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence);
        Assert.Equal(12, completed!.Usage.TotalTokenCount);
        Assert.True(Assert.Single(kit.Providers[0].Received).Body["stream_options"]!["include_usage"]!.GetValue<bool>());
        await kit.AssertTokensUsedAsync(12);
    }

    [Fact]
    public async Task FunctionCall_Streamed_IsAFunctionCallItem()
    {
        await using var kit = await StartAsync();
        FunctionCallResponseItem? call = null;
        var arguments = new StringBuilder();

        await foreach (var update in await kit.OpenAI().GetResponsesClient().CreateResponseStreamingAsync(new CreateResponseOptions
        {
            Model = "fast",
            StreamingEnabled = true,
            InputItems = { ResponseItem.CreateUserMessageItem("weather?") },
            Tools = { ResponseTool.CreateFunctionTool("weather", BinaryData.FromString("""{"type":"object"}"""), null, null) },
        }))
        {
            if (update is StreamingResponseFunctionCallArgumentsDeltaUpdate delta)
            {
                arguments.Append(delta.Delta.ToString());
            }
            else if (update is StreamingResponseCompletedUpdate done)
            {
                call = done.Response.OutputItems.OfType<FunctionCallResponseItem>().Single();
            }
        }

        Assert.Equal(FakeProvider.ToolArguments, arguments.ToString());
        Assert.Equal(("call_1", "weather", FakeProvider.ToolArguments), (call!.CallId, call.FunctionName, call.FunctionArguments.ToString()));
    }

    [Fact]
    public async Task ProvidersOwn4xx_IsPassedOn_ItHasTheResponsesApisShape()
    {
        await using var kit = await StartAsync();
        kit.Providers[0].Fault = FakeFault.BadRequest;

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","input":"hi"}""", "/v1/responses"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("context_length_exceeded", body["error"]!["code"]!.GetValue<string>());
    }

    [Fact]
    public async Task WithTheResponsesApi_TheDefault_TheCallGoesToResponses()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1);

        await kit.OpenAI().GetResponsesClient().CreateResponseAsync("fast", "hi");

        Assert.Equal("/v1/responses", Assert.Single(kit.Providers[0].Received).Path);
    }

    private static Task<AiKit> StartAsync() => AiKit.StartAsync(providerCount: 1, providerExtra: ", responsesApi: false", planExtra: TokenLimit);
}
