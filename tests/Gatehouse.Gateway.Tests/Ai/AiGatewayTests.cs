using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Tests.Infrastructure;
using OpenAI.Chat;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>Issue 22: the OpenAI-compatible API of an <c>ai</c> service, checked with OpenAI's own .NET client.</summary>
public sealed class AiGatewayTests
{
    [Fact]
    public async Task Chat_OpenAIClient_AnswersWithProviderUsage()
    {
        await using var kit = await AiKit.StartAsync();
        var chat = kit.OpenAI().GetChatClient("fast");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("w1 w2 w3 w4 w5", completion.Content[0].Text);
        Assert.Equal(7, completion.Usage.InputTokenCount);
        Assert.Equal(5, completion.Usage.OutputTokenCount);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        var received = Assert.Single(kit.Providers[0].Received);
        Assert.Equal("model-0", received.Body["model"]!.GetValue<string>());
        Assert.Empty(kit.Providers[1].Received);
    }

    [Fact]
    public async Task Chat_ProviderKey_IsTheGatewaysNeverTheClients()
    {
        await using var kit = await AiKit.StartAsync();
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new("Bearer", kit.Key.Plaintext);
        request.Headers.Add("X-Api-Key", kit.Key.Plaintext);
        request.Headers.Add("OpenAI-Organization", "org-client");

        using var response = await kit.Gateway.Client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single(kit.Providers[0].Received);
        Assert.Equal("Bearer " + AiKit.ProviderSecret, received.Authorization);
        Assert.False(received.Headers.ContainsKey("X-Api-Key"));
        Assert.False(received.Headers.ContainsKey("OpenAI-Organization"));
        Assert.DoesNotContain(AiKit.ProviderSecret, body);
        Assert.DoesNotContain(AiKit.ProviderSecret, response.Headers.ToString());
    }

    [Fact]
    public async Task ProviderKey_NeverInTheLogs_EvenWhenProvidersFail()
    {
        var logs = new CapturingLoggerProvider();
        await using var kit = await AiKit.StartAsync(logs: logs);
        kit.Providers[0].Fault = FakeFault.ServerError;
        await kit.OpenAI().GetChatClient("fast").CompleteChatAsync([new UserChatMessage("hi")]);
        kit.Providers[1].Fault = FakeFault.RateLimited;
        await Assert.ThrowsAsync<ClientResultException>(() => kit.OpenAI().GetChatClient("fast").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Contains(logs.Entries, e => e.Message.Contains("provider p0", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.ToString()!.Contains(AiKit.ProviderSecret, StringComparison.Ordinal) || e.Message.Contains("provider-secret", StringComparison.Ordinal));
        Assert.DoesNotContain(AiKit.ProviderSecret, kit.Gateway.Host.Runtime.Current.Config.Services["llm"].ToString());
    }

    [Fact]
    public async Task ChatStream_OpenAIClient_ReceivesEveryChunkAndUsage()
    {
        await using var kit = await AiKit.StartAsync();
        var chat = kit.OpenAI().GetChatClient("fast");

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        var updates = 0;
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            updates++;
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage = update.Usage ?? usage;
        }

        Assert.Equal("w1 w2 w3 w4 w5", text.ToString());
        Assert.True(updates >= 6, $"{updates} updates");
        var received = Assert.Single(kit.Providers[0].Received);
        Assert.True(received.Body["stream_options"]!["include_usage"]!.GetValue<bool>(), "the gateway asks the provider for usage");
        Assert.Equal(12, usage?.TotalTokenCount);
    }

    [Fact]
    public async Task ChatStream_ClientDidNotAskForUsage_GetsNoUsageChunkButDone()
    {
        await using var kit = await AiKit.StartAsync();
        var body = await kit.PostOkAsync("""{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.DoesNotContain("\"usage\"", body);
        Assert.EndsWith("data: [DONE]\n\n", body);
        Assert.True(kit.Providers[0].Received.Single().Body["stream_options"]!["include_usage"]!.GetValue<bool>());
    }

    [Fact]
    public async Task ChatStream_Unbuffered_FirstChunkReachesClientBeforeProviderSendsTheRest()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.Gate;
        using var request = kit.Post("""{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}""");
        using var response = await kit.Gateway.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];

        // The provider holds the rest back until the client has read the first chunk: a buffering gateway would hang here.
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        var first = Encoding.UTF8.GetString(buffer, 0, read);
        Assert.Contains("\"w1\"", first);
        Assert.DoesNotContain("w2", first);
        kit.Providers[0].Release.SetResult();
        var rest = await new StreamReader(stream).ReadToEndAsync();
        Assert.EndsWith("data: [DONE]\n\n", rest);
    }

    [Theory]
    [InlineData(FakeFault.ServerError)]
    [InlineData(FakeFault.RateLimited)]
    [InlineData(FakeFault.Stall)]
    public async Task Chat_FirstProviderFails_NextProviderAnswers(FakeFault fault)
    {
        await using var kit = await AiKit.StartAsync(timeout: "1s");
        kit.Providers[0].Fault = fault;

        ChatCompletion completion = await kit.OpenAI().GetChatClient("fast").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("w1 w2 w3 w4 w5", completion.Content[0].Text);
        Assert.Single(kit.Providers[0].Received);
        Assert.Equal("model-1", kit.Providers[1].Received.Single().Body["model"]!.GetValue<string>());
    }

    [Theory]
    [InlineData(FakeFault.ServerError)]
    [InlineData(FakeFault.Stall)]
    public async Task ChatStream_FirstProviderFailsBeforeFirstEvent_NextProviderStreams(FakeFault fault)
    {
        await using var kit = await AiKit.StartAsync(timeout: "1s");
        kit.Providers[0].Fault = fault;

        var body = await kit.PostOkAsync("""{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Contains("\"model-1\"", body);
        Assert.EndsWith("data: [DONE]\n\n", body);
    }

    [Fact]
    public async Task Chat_ProviderUnreachable_NextProviderAnswers()
    {
        await using var kit = await AiKit.StartAsync();
        await kit.Providers[0].DisposeAsync(); // its port now refuses connections

        var body = await kit.PostOkAsync("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Contains("\"model-1\"", body);
    }

    [Fact]
    public async Task Chat_EveryProviderRateLimited_429WithRetryAfter()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.RateLimited;
        kit.Providers[1].Fault = FakeFault.RateLimited;

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("7", response.Headers.RetryAfter?.ToString());
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("rate_limit_exceeded", json.RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Theory]
    [InlineData(FakeFault.CutMidStream, "ended the stream before it was complete")]
    [InlineData(FakeFault.Malformed, "not valid JSON")]
    public async Task ChatStream_ProviderFailsAfterFirstEvent_EndsWithErrorEventNotSilently(FakeFault fault, string message)
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = fault;

        var body = await kit.PostUntilAbortAsync("""{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Contains("\"w1\"", body);
        Assert.DoesNotContain("[DONE]", body);
        Assert.Contains("\"stream_interrupted\"", body);
        Assert.Contains(message, body);
        Assert.Empty(kit.Providers[1].Received); // past the first byte, no fallback
    }

    [Fact]
    public async Task ChatStream_ProviderResetsAfterFirstEvent_ErrorEventAfterWhatWasSent()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.ResetMidStream;
        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[4096];
        var read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains("\"w1\"", Encoding.UTF8.GetString(buffer, 0, read));

        kit.Providers[0].Release.SetResult();
        var rest = new StringBuilder();
        try
        {
            while ((read = await stream.ReadAsync(buffer)) > 0)
            {
                rest.Append(Encoding.UTF8.GetString(buffer, 0, read));
            }

            Assert.Fail("the response must not end like a complete one");
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
        }

        Assert.Contains("broke mid-stream", rest.ToString());
        Assert.DoesNotContain("[DONE]", rest.ToString());
    }

    [Fact]
    public async Task ChatStream_OpenAIClient_ProviderCutMidStream_ClientSeesAnError()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.CutMidStream;

        await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await foreach (var _ in kit.OpenAI().GetChatClient("fast").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
            {
            }
        });
    }

    [Fact]
    public async Task Models_OpenAIClient_ListsTheAliases()
    {
        await using var kit = await AiKit.StartAsync();

        var models = await kit.OpenAI().GetOpenAIModelClient().GetModelsAsync();

        Assert.Equal(["fast", "other"], models.Value.Select(m => m.Id).ToArray());
    }

    [Fact]
    public async Task Embeddings_OpenAIClient_PassesThrough()
    {
        await using var kit = await AiKit.StartAsync();

        var embedding = await kit.OpenAI().GetEmbeddingClient("fast").GenerateEmbeddingAsync("hello");

        Assert.Equal([0.25f, 0.5f, 0.75f], embedding.Value.ToFloats().ToArray());
        Assert.Equal("/v1/embeddings", kit.Providers[0].Received.Single().Path);
    }

    [Fact]
    public async Task Chat_UnknownModel_404InOpenAIFormat()
    {
        await using var kit = await AiKit.StartAsync();

        var e = await Assert.ThrowsAsync<ClientResultException>(() => kit.OpenAI().GetChatClient("gpt-4o").CompleteChatAsync([new UserChatMessage("hi")]));

        Assert.Equal(404, e.Status);
        Assert.Contains("fast, other", e.Message);
        Assert.Empty(kit.Providers[0].Received);
    }

    [Fact]
    public async Task Chat_WithoutKey_401AndNoProviderCall()
    {
        await using var kit = await AiKit.StartAsync();

        using var response = await kit.Gateway.Client.PostAsync("/v1/chat/completions", new StringContent("""{"model":"fast","messages":[]}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Empty(kit.Providers[0].Received);
    }
}
