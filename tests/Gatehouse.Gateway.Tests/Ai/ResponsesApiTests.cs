using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Responses;

#pragma warning disable OPENAI001 // the Responses client is marked experimental in OpenAI's .NET library

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// OpenAI's Responses API (<c>POST /v1/responses</c>) through an <c>ai</c> service, with OpenAI's own .NET client as the
/// oracle: whole and streamed answers, usage into token limits, fallback, and the refusal of anything that would reach
/// state kept at the provider under the account every application shares.
/// </summary>
[Trait("Issue", "22")]
public sealed class ResponsesApiTests
{
    private const string TokenLimit = AiKit.DayTokenLimit;

    [Fact]
    public async Task Create_OpenAIClient_AnswersWithUsage_AndTheProviderIsToldNotToStore()
    {
        await using var kit = await AiKit.StartAsync(planExtra: TokenLimit);

        ResponseResult response = await kit.OpenAI().GetResponsesClient().CreateResponseAsync("fast", "hi");

        Assert.Equal("w1 w2 w3 w4 w5", response.GetOutputText());
        Assert.Equal(7, response.Usage.InputTokenCount);
        Assert.Equal(5, response.Usage.OutputTokenCount);
        var received = Assert.Single(kit.Providers[0].Received);
        Assert.Equal("/v1/responses", received.Path);
        Assert.Equal("model-0", received.Body["model"]!.GetValue<string>());
        Assert.False(received.Body["store"]!.GetValue<bool>());
        Assert.Equal("Bearer " + AiKit.ProviderSecret, received.Authorization);
        await kit.AssertTokensUsedAsync(12);
    }

    [Fact]
    public async Task Stream_OpenAIClient_GetsEveryDeltaAndTheCompletedResponse_UsageCounted()
    {
        await using var kit = await AiKit.StartAsync(planExtra: TokenLimit);

        var text = new StringBuilder();
        ResponseResult? completed = null;
        var sequence = new List<int>();
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
        Assert.NotNull(completed);
        Assert.Equal(12, completed.Usage.TotalTokenCount);
        Assert.Equal(Enumerable.Range(0, sequence.Count), sequence); // every event, in order, none added or dropped
        var received = Assert.Single(kit.Providers[0].Received);
        Assert.True(received.Body["stream"]!.GetValue<bool>());
        Assert.Null(received.Body["stream_options"]); // chat's include_usage is not the Responses API's
        await kit.AssertTokensUsedAsync(12);
    }

    [Fact]
    public async Task Stream_Unbuffered_FirstDeltaReachesTheClientBeforeTheProviderSendsTheRest()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.Gate;
        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","stream":true,"input":"hi"}""", "/v1/responses"), HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var seen = new StringBuilder();
        var buffer = new byte[4096];
        while (!seen.ToString().Contains("response.output_text.delta", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(read > 0, seen.ToString());
            seen.Append(Encoding.UTF8.GetString(buffer, 0, read));
        }

        kit.Providers[0].Release.TrySetResult();
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task Fallback_FirstProviderFails_SecondAnswers()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.ServerError;

        ResponseResult response = await kit.OpenAI().GetResponsesClient().CreateResponseAsync("fast", "hi");

        Assert.Equal("w1 w2 w3 w4 w5", response.GetOutputText());
        Assert.Equal("model-1", Assert.Single(kit.Providers[1].Received).Body["model"]!.GetValue<string>());
    }

    [Fact]
    public async Task StreamCutMidway_EndsWithTheResponsesApisErrorEvent_AndTheEstimateIsCounted()
    {
        await using var kit = await AiKit.StartAsync(planExtra: TokenLimit);
        kit.Providers[0].Fault = FakeFault.CutMidStream;

        var text = new StringBuilder();
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var update in await kit.OpenAI().GetResponsesClient().CreateResponseStreamingAsync("fast", "hi"))
            {
                if (update is StreamingResponseOutputTextDeltaUpdate delta)
                {
                    text.Append(delta.Delta);
                }
                else if (update is StreamingResponseErrorUpdate failed)
                {
                    throw new InvalidOperationException(failed.Code + ": " + failed.Message);
                }
            }
        });

        Assert.Equal("w1 w2", text.ToString());
        Assert.Contains("stream_interrupted", error.Message + error.InnerException?.Message, StringComparison.Ordinal);
        var limiter = kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
        await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, "the call settled");
        var used = limiter.Read("gold", "app", 0).Used;
        Assert.InRange(used, 2 + 1, 100); // the prompt's estimate and the two words seen, not the reservation
    }

    [Fact]
    public async Task Azure_GoesToTheV1ResponsesPathWithTheDeploymentAsModel()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, azureCount: 1, models: "        gpt: [ { provider: z0, model: gpt4o-prod } ]\n");

        ResponseResult response = await kit.OpenAI().GetResponsesClient().CreateResponseAsync("gpt", "hi");

        Assert.Equal("w1 w2 w3 w4 w5", response.GetOutputText());
        var received = Assert.Single(kit.Azure[0].Received);
        Assert.Equal("/openai/v1/responses", received.Path);
        Assert.Equal("gpt4o-prod", received.Body["model"]!.GetValue<string>());
        Assert.Equal(AiKit.ProviderSecret, received.Headers["api-key"].ToString());
    }

    [Theory]
    [InlineData("""{"model":"fast","input":"hi","previous_response_id":"resp_of_someone_else"}""", "previous_response_id")]
    [InlineData("""{"model":"fast","input":"hi","conversation":"conv_123"}""", "conversation")]
    [InlineData("""{"model":"fast","input":"hi","store":true}""", "store")]
    [InlineData("""{"model":"fast","input":"hi","background":true}""", "background")]
    [InlineData("""{"model":"fast","input":[{"type":"item_reference","id":"msg_123"}]}""", "item_reference")]
    [InlineData("""{"model":"fast","input":[{"role":"user","content":[{"type":"input_file","file_id":"file-123"}]}]}""", "file_id")]
    [InlineData("""{"model":"fast","input":"hi","tools":[{"type":"file_search","vector_store_ids":["vs_1"]}]}""", "file_search")]
    [InlineData("""{"model":"fast","input":"hi","tools":[{"type":"code_interpreter","container":"cntr_1"}]}""", "code_interpreter")]
    public async Task StateKeptAtTheProvider_IsRefused_BeforeAnyProviderIsCalled(string json, string named)
    {
        await using var kit = await AiKit.StartAsync();

        using var response = await kit.Gateway.Client.SendAsync(kit.Post(json, "/v1/responses"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("unsupported_parameter", body["error"]!["code"]!.GetValue<string>());
        Assert.Contains(named, body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(kit.Providers[0].Received);
    }

    [Fact]
    public async Task AllowedShapes_PassThrough_StoreFalseKept_AutoContainerAllowed()
    {
        await using var kit = await AiKit.StartAsync();

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","store":false,"previous_response_id":null,"input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}],"tools":[{"type":"code_interpreter","container":{"type":"auto"}}]}""", "/v1/responses"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.False(Assert.Single(kit.Providers[0].Received).Body["store"]!.GetValue<bool>());
    }

    [Theory]
    [InlineData("""{"model":"fast","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"file-123"}}]}]}""")]
    [InlineData("""{"model":"fast","messages":[{"role":"user","content":[{"type":"file","file":{"file\u005fid":"file-123"}}]}]}""")] // the same name, escaped
    public async Task ChatFileIdReference_IsRefusedToo(string json)
    {
        await using var kit = await AiKit.StartAsync();

        using var response = await kit.Gateway.Client.SendAsync(kit.Post(json));
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("file_id", body);
        Assert.Empty(kit.Providers[0].Received);
    }

    [Theory]
    [InlineData("GET", "/v1/responses/resp_fake")]
    [InlineData("DELETE", "/v1/responses/resp_fake")]
    [InlineData("POST", "/v1/responses/resp_fake/cancel")]
    [InlineData("GET", "/v1/responses/resp_fake/input_items")]
    public async Task StoredResponses_AreNotServed_AndSaySo(string method, string path)
    {
        await using var kit = await AiKit.StartAsync();
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        request.Headers.Add("X-Api-Key", kit.Key.Plaintext);

        using var response = await kit.Gateway.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("response_not_stored", body);
        Assert.Empty(kit.Providers[0].Received);
    }

    [Theory]
    [InlineData("""{"model":"fast","messages":[{"role":"user","content":"a long conversation about files"}]}""", false)]
    [InlineData("""{"model":"fast","messages":[{"role":"user","content":[{"type":"file","file":{"file_id":"f"}}]}]}""", true)]
    [InlineData("""{"model":"fast","input":[{"type":"item_reference","id":"i"}]}""", true)]
    [InlineData("""{"model":"fast","messages":[{"role":"user","content":"caf\u00e9"}]}""", true)] // any escape: a name could be spelt with one
    public void MayRefer_SkipsTheWalkOnlyForBytesThatCannotHoldAReference(string json, bool mayRefer) =>
        Assert.Equal(mayRefer, ProviderState.MayRefer(Encoding.UTF8.GetBytes(json)));

    [Fact]
    public void PromptEstimate_CountsInstructionsAndEveryKindOfInput()
    {
        var text = (JsonObject)JsonNode.Parse("""{"input":"one two three"}""")!;
        var items = (JsonObject)JsonNode.Parse("""{"instructions":"be brief","input":[{"role":"user","content":[{"type":"input_text","text":"one two three"}]},{"type":"function_call_output","call_id":"c","output":"four five"}]}""")!;

        var fromText = TokenLimiter.EstimatePrompt(text, AiOperation.Responses);
        var fromItems = TokenLimiter.EstimatePrompt(items, AiOperation.Responses);

        Assert.Equal(3 + 3 + TokenCounter.Count("one two three"), fromText);
        Assert.Equal(3 + 3 + TokenCounter.Count("be brief") + 3 + TokenCounter.Count("one two three") + 3 + TokenCounter.Count("four five"), fromItems);
    }
}
