using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// A plan's spend limits: a call is admitted at its most expensive outcome (its estimate at the alias's highest prices),
/// reserved so that concurrent calls cannot overspend, and settled at the price of the provider model that answered.
/// </summary>
[Trait("Issue", "22")]
public sealed class SpendLimitTests
{
    // p0 at 1,000 per million tokens (a thousandth a token), p1 at 10 per million: 1,000,000 and 10,000 nano-units a token.
    private const string Priced = "        fast: [ { provider: p0, model: dear, price: { prompt: 1000, completion: 1000 } }, { provider: p1, model: cheap, price: { prompt: 10, completion: 10 } } ]\n";

    [Fact]
    public async Task Settle_CountsTheCostAtTheAnsweringModelsPrice()
    {
        await using var kit = await AiKit.StartAsync(models: Priced, planExtra: "    spendLimits: [ { amount: 10, per: day } ]");

        var first = await kit.PostOkAsync("""{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""");
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, "the call settled");
        var afterDear = Limiter(kit).Read("gold", "app", 0).Used;
        kit.Providers[0].Fault = FakeFault.ServerError; // the next call is answered by p1, at its price
        await kit.PostOkAsync("""{"model":"fast","stream":true,"max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""");
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0, "the call settled");

        Assert.Contains("w1", first, StringComparison.Ordinal);
        Assert.Equal(12 * 1_000_000L, afterDear); // 7 prompt and 5 completion tokens at a thousandth each
        Assert.Equal(afterDear + (12 * 10_000L), Limiter(kit).Read("gold", "app", 0).Used);
    }

    [Fact]
    public async Task Admission_20ConcurrentCallsAgainstABudgetFor4_AdmitsExactly4()
    {
        // Each call reserves its prompt estimate (7) and max_tokens (93) at the dearer prices: 100 thousandths, a tenth.
        // 0.48 holds four; at the cheaper prompt price (0.09307 a call) it would hold five.
        await using var kit = await AiKit.StartAsync(models: Priced, planExtra: "    spendLimits: [ { amount: 0.48, per: day } ]");
        kit.Providers[0].Fault = FakeFault.Gate; // the admitted calls stay in flight until every call has been answered

        var responses = await Task.WhenAll(Enumerable.Range(0, 20).Select(_ =>
            kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","stream":true,"max_tokens":93,"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead)));

        Assert.Equal(4, responses.Count(r => r.StatusCode == HttpStatusCode.OK));
        var refused = responses.First(r => r.StatusCode == HttpStatusCode.TooManyRequests);
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
        Assert.Equal("spend_limit_exceeded", error["code"]!.GetValue<string>());
        Assert.Contains("spend limit (0.48 per day)", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.NotNull(refused.Headers.RetryAfter);
        kit.Providers[0].Release.SetResult();
        foreach (var response in responses)
        {
            await response.Content.ReadAsStringAsync();
            response.Dispose();
        }

        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0) == (4 * 12 * 1_000_000L, 0), "every call settled at what it cost");
    }

    [Fact]
    public async Task Admission_ReservesPromptTokensAtTheCacheWritePrice_WhenItIsTheDearer()
    {
        // A prompt token written to the provider's cache costs cacheWrite: the estimate (7) is reserved at 20, max_tokens at 10.
        await using var kit = await AiKit.StartAsync(providerCount: 1, planExtra: "    spendLimits: [ { amount: 100, per: day } ]",
            models: "        fast: [ { provider: p0, model: m, price: { prompt: 10, completion: 10, cacheWrite: 20 } } ]\n");
        kit.Providers[0].Fault = FakeFault.Gate;

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","stream":true,"max_tokens":93,"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead);
        await kit.Providers[0].FirstChunkSent.Task;

        Assert.Equal((0L, (7 * 20_000L) + (93 * 10_000L)), Limiter(kit).Read("gold", "app", 0));
        kit.Providers[0].Release.SetResult();
        await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task OverBudget_AnthropicClientsGetAnthropicsShape_PromptOperationsProblemJson()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 0, anthropicCount: 1, planExtra: "    spendLimits: [ { amount: 0.000001, per: day } ]",
            models: "        claude: [ { provider: a0, model: claude-x, price: { prompt: 3, completion: 15 } } ]\n");

        using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"claude","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages"));
        var body = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.Equal("rate_limit_error", body["error"]!["type"]!.GetValue<string>());
        Assert.Contains("spend limit", body["error"]!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(kit.Anthropic[0].Received);
    }

    [Fact]
    public async Task SpendAndTokenLimits_CountSideBySide()
    {
        await using var kit = await AiKit.StartAsync(models: Priced, planExtra: "    tokenLimits: [ { tokens: 100000, per: day } ]\n    spendLimits: [ { amount: 10, per: month } ]");

        await kit.PostOkAsync("""{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""");

        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 0).Reserved == 0 && Limiter(kit).Read("gold", "app", 1).Reserved == 0, "the call settled");
        Assert.Equal(12, Limiter(kit).Read("gold", "app", 0).Used);
        Assert.Equal(12 * 1_000_000L, Limiter(kit).Read("gold", "app", 1).Used);
    }

    [Fact]
    public async Task WhatIsLeft_ReportsTokenAndSpendLimits_CallsInFlightCounted()
    {
        await using var kit = await AiKit.StartAsync(models: Priced, planExtra: "    tokenLimits: [ { tokens: 100000, per: day, model: fast } ]\n    spendLimits: [ { amount: 10, per: month } ]");
        var runtime = kit.Gateway.Host.Runtime;

        var before = Gatehouse.Gateway.Limiting.QuotaReport.For(runtime, "app", Limiter(kit));
        await kit.PostOkAsync("""{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}""");
        await Wait.UntilAsync(() => Limiter(kit).Read("gold", "app", 1).Reserved == 0, "the call settled");
        kit.Providers[0].Fault = FakeFault.Gate; // one more call in flight: its reservation is not left to others
        using var held = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","stream":true,"max_tokens":93,"messages":[{"role":"user","content":"hi"}]}"""), HttpCompletionOption.ResponseHeadersRead);
        var windows = Gatehouse.Gateway.Limiting.QuotaReport.For(runtime, "app", Limiter(kit));
        kit.Providers[0].Release.SetResult();

        Assert.All(before, w => Assert.Equal(0, w.Used)); // reading made nothing up
        var tokens = Assert.Single(windows, w => w.Unit == "tokens");
        var spend = Assert.Single(windows, w => w.Unit == "cost");
        Assert.Equal(("tokens/day", 100_000L, 12L + 100L, "fast", true), (tokens.Name, tokens.Limit, tokens.Used, tokens.Model, tokens.Quota));
        Assert.Equal(("spend/month", 10_000_000_000L, (12L + 100L) * 1_000_000L), (spend.Name, spend.Limit, spend.Used));
        Assert.Equal(("spend 10 per month", "0.112", "9.888"), (spend.Describe(), spend.Format(spend.Used), spend.Format(spend.Remaining)));
        Assert.Equal("100,000 tokens per day, model fast", tokens.Describe());
    }

    private static TokenLimiter Limiter(AiKit kit) => kit.Gateway.Host.Services.GetRequiredService<TokenLimiter>();
}
