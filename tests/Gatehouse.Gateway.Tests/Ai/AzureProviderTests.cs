using System.Text;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using OpenAI.Chat;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Issue 22: an Azure OpenAI provider behind the OpenAI-compatible API: deployment paths, <c>api-version</c>, the
/// <c>api-key</c> header, aliases mapped to deployments. OpenAI's .NET client is the oracle; an OpenAI fake on loopback
/// (real Kestrel) stands for the Azure resource and records the paths it was called on.
/// </summary>
[Trait("Issue", "22")]
public sealed class AzureProviderTests
{
    private const string Models = "        gpt: [ { provider: z0, model: gpt4o-prod } ]\n        embed: [ { provider: z0, model: embed-small } ]\n";

    [Fact]
    public async Task Chat_OpenAIClient_GoesToTheDeploymentPathWithApiKey()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, azureCount: 1, models: Models);

        ChatCompletion completion = await kit.OpenAI().GetChatClient("gpt").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("w1 w2 w3 w4 w5", completion.Content[0].Text);
        Assert.Equal(12, completion.Usage.TotalTokenCount);
        var received = Assert.Single(kit.Azure[0].Received);
        Assert.Equal("/openai/deployments/gpt4o-prod/chat/completions", received.Path);
        Assert.Equal("?api-version=" + AiProvider.AzureVersion, received.Query);
        Assert.Equal(AiKit.ProviderSecret, received.Headers["api-key"].ToString());
        Assert.Null(received.Authorization); // the client's key never reaches the provider
    }

    [Fact]
    public async Task MessagesApi_ToAnAzureDeployment_GoesAsAChatCall_WithTheOutputLimitAzuresReasoningModelsTake()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, azureCount: 1, models: Models);

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"gpt","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages"));
        var message = System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(("message", "w1 w2 w3 w4 w5"), (message["type"]!.GetValue<string>(), message["content"]![0]!["text"]!.GetValue<string>()));
        var received = Assert.Single(kit.Azure[0].Received);
        Assert.Equal("/openai/deployments/gpt4o-prod/chat/completions", received.Path);
        Assert.Equal((64, false), (received.Body["max_completion_tokens"]!.GetValue<int>(), received.Body.ContainsKey("max_tokens")));
    }

    [Fact]
    public async Task ChatStream_OpenAIClient_ChunksAndUsageCountedIntoTheTokenLimit()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, azureCount: 1, models: Models, azureExtra: ", apiVersion: 2025-01-01-preview", planExtra: AiKit.DayTokenLimit);

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        await foreach (var update in kit.OpenAI().GetChatClient("gpt").CompleteChatStreamingAsync([new UserChatMessage("hi")]))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            usage = update.Usage ?? usage;
        }

        Assert.Equal("w1 w2 w3 w4 w5", text.ToString());
        Assert.Equal(12, usage?.TotalTokenCount);
        var received = Assert.Single(kit.Azure[0].Received);
        Assert.Equal("?api-version=2025-01-01-preview", received.Query);
        Assert.True(received.Body["stream_options"]!["include_usage"]!.GetValue<bool>());
        var limiter = kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
        await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, "the call settled");
        Assert.Equal((12L, 0L), limiter.Read("gold", "app", 0));
    }

    [Fact]
    public async Task Embeddings_OpenAIClient_GoToTheEmbeddingDeployment()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, azureCount: 1, models: Models);

        var embedding = await kit.OpenAI().GetEmbeddingClient("embed").GenerateEmbeddingAsync("hello");

        Assert.Equal([0.25f, 0.5f, 0.75f], embedding.Value.ToFloats().ToArray());
        Assert.Equal("/openai/deployments/embed-small/embeddings", kit.Azure[0].Received.Single().Path);
    }

    [Fact]
    public async Task Chat_AzureFails_AnthropicThenAnswers()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, azureCount: 1, anthropicCount: 1, models: "        mixed: [ { provider: z0, model: gpt4o-prod }, { provider: a0, model: claude-test } ]\n");
        kit.Azure[0].Fault = FakeFault.ServerError;

        ChatCompletion completion = await kit.OpenAI().GetChatClient("mixed").CompleteChatAsync([new UserChatMessage("hi")]);

        Assert.Equal("a1 a2 a3 a4", completion.Content[0].Text);
        Assert.Single(kit.Azure[0].Received);
    }
}
