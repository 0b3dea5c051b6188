using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// Issue 22: a provider's 401, 403 or 404 is the gateway's credential or model map failing at that provider, not the
/// client's request: it moves the call to the next provider, and when none is left the client gets 502 naming the
/// provider, never the provider's body (OpenAI's 401 repeats part of the provider key).
/// </summary>
[Trait("Issue", "22")]
public sealed class ProviderRefusalTests
{
    private const string Chat = """{"model":"fast","messages":[{"role":"user","content":"hi"}]}""";

    private static readonly string Fragment = FakeProvider.KeyFragment(AiKit.ProviderSecret);

    [Theory]
    [InlineData(FakeFault.Unauthorized)]
    [InlineData(FakeFault.Forbidden)]
    [InlineData(FakeFault.NotFound)]
    public async Task Chat_FirstProviderRefusesTheGateway_NextProviderAnswers(FakeFault fault)
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = fault;

        var body = await kit.PostOkAsync(Chat);

        Assert.Contains("\"model-1\"", body);
        Assert.Single(kit.Providers[0].Received);
        Assert.Single(kit.Providers[1].Received);
    }

    [Theory]
    [InlineData(FakeFault.Unauthorized)]
    [InlineData(FakeFault.NotFound)]
    public async Task ChatStream_FirstProviderRefusesTheGateway_NextProviderStreams(FakeFault fault)
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = fault;

        var body = await kit.PostOkAsync("""{"model":"fast","stream":true,"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Contains("\"model-1\"", body);
        Assert.EndsWith("data: [DONE]\n\n", body);
        Assert.DoesNotContain(Fragment, body);
    }

    [Fact]
    public async Task EmbeddingsAndResponses_FirstProviderUnauthorized_NextProviderAnswers()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.Unauthorized;

        using var embeddings = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","input":"hi"}""", "/v1/embeddings"));
        using var responses = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","input":"hi"}""", "/v1/responses"));

        Assert.Equal(HttpStatusCode.OK, embeddings.StatusCode);
        Assert.Contains("\"model-1\"", await embeddings.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, responses.StatusCode);
        Assert.Contains("\"model-1\"", await responses.Content.ReadAsStringAsync());
        Assert.Equal(2, kit.Providers[1].Received.Count);
    }

    [Fact]
    public async Task RevokedProviderKey_ThreeRefusals_PassTheProviderOver()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.Unauthorized;

        for (var i = 0; i < 4; i++)
        {
            await kit.PostOkAsync(Chat);
        }

        Assert.Equal(3, kit.Providers[0].Received.Count); // the 4th call went to p1 first: p0 is cooling
        Assert.Equal(4, kit.Providers[1].Received.Count);
    }

    [Fact]
    public async Task Chat_LastProviderUnauthorized_502NamingTheProvider_NeverItsBodyOrKey()
    {
        var logs = new CapturingLoggerProvider();
        await using var kit = await AiKit.StartAsync(logs: logs);
        kit.Providers[0].Fault = FakeFault.Unauthorized;
        kit.Providers[1].Fault = FakeFault.Unauthorized;

        using var response = await kit.Gateway.Client.SendAsync(kit.Post(Chat));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal(("api_error", "provider_auth_failed"), (error["type"]!.GetValue<string>(), error["code"]!.GetValue<string>()));
        Assert.Contains("Provider 'p1'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(Fragment, text);
        Assert.DoesNotContain("Incorrect API key", text);
        Assert.Equal(2, kit.Providers.Sum(p => p.Received.Count));
        // The operator is told which provider refused the gateway's key, and the key's fragment is not in the log either.
        Assert.Contains(logs.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("provider p0", StringComparison.Ordinal) && e.Message.Contains("401", StringComparison.Ordinal));
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(Fragment, StringComparison.Ordinal) || e.Message.Contains("Incorrect API key", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Chat_LastProviderNotFound_502NamingTheProviderAndItsModel()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1);
        kit.Providers[0].Fault = FakeFault.NotFound;

        using var response = await kit.Gateway.Client.SendAsync(kit.Post(Chat));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var error = JsonNode.Parse(text)!["error"]!;
        Assert.Equal("provider_model_not_found", error["code"]!.GetValue<string>());
        Assert.Contains("Provider 'p0'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Contains("'model-0'", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("does not exist or you do not have access", text);
    }

    [Fact]
    public async Task Chat_ProviderBadRequest_PassedOnUnchanged_NoFallback()
    {
        await using var kit = await AiKit.StartAsync();
        kit.Providers[0].Fault = FakeFault.BadRequest;

        using var response = await kit.Gateway.Client.SendAsync(kit.Post(Chat));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("""{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""",
            await response.Content.ReadAsStringAsync());
        Assert.Empty(kit.Providers[1].Received);
    }

    [Fact]
    public async Task Messages_OnlyProviderUnauthorized_502InAnthropicsShape_WithoutItsBody()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1);
        kit.Providers[0].Fault = FakeFault.Unauthorized;

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","max_tokens":64,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages"));
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var body = JsonNode.Parse(text)!;
        Assert.Equal(("error", "api_error"), (body["type"]!.GetValue<string>(), body["error"]!["type"]!.GetValue<string>()));
        Assert.Contains("Provider 'p0'", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain(Fragment, text);
    }

    [Fact]
    public async Task Chat_AnthropicProviderUnauthorized_NextProviderAnswers()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1,
            models: "        claudefirst: [ { provider: a0, model: claude-x }, { provider: p0, model: model-0 } ]\n");
        kit.Anthropic[0].Fault = AnthropicFault.Unauthorized;

        var body = await kit.PostOkAsync("""{"model":"claudefirst","messages":[{"role":"user","content":"hi"}]}""");

        Assert.Contains("\"model-0\"", body);
        Assert.Single(kit.Anthropic[0].Received);
    }
}
