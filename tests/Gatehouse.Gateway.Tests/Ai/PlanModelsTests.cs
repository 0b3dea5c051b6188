using System.Net;
using System.Text.Json.Nodes;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// A plan's <c>models</c>: the aliases its applications may call through model routes. Others are refused before any
/// provider is called, in each API's own shape, and <c>GET /v1/models</c> lists only the allowed ones.
/// </summary>
[Trait("Issue", "22")]
public sealed class PlanModelsTests
{
    [Fact]
    public async Task AnAliasOutsideThePlan_IsRefused403_AndNotListed_TheOthersServe()
    {
        await using var kit = await AiKit.StartAsync(planExtra: "    models: [ fast ]");

        using var refused = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"other","messages":[{"role":"user","content":"hi"}]}"""));
        var error = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!["error"]!;
        using var served = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}"""));
        using var list = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        list.Headers.Add("X-Api-Key", kit.Key.Plaintext);
        var models = JsonNode.Parse(await (await kit.Gateway.Client.SendAsync(list)).Content.ReadAsStringAsync())!["data"]!.AsArray();

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("model_not_allowed", error["code"]!.GetValue<string>());
        Assert.Contains("use one of: fast", error["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, served.StatusCode);
        Assert.Equal(["fast"], models.Select(m => m!["id"]!.GetValue<string>()));
        Assert.All(kit.Providers[0].Received, r => Assert.Equal("model-0", r.Body["model"]!.GetValue<string>())); // 'other' (other-0) never went out
    }

    [Fact]
    public async Task OneModel_IsRetrievedWhenThePlanMayCallIt_404Otherwise()
    {
        await using var kit = await AiKit.StartAsync(planExtra: "    models: [ fast ]");
        var models = kit.OpenAI().GetOpenAIModelClient();

        var fast = await models.GetModelAsync("fast");
        var other = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => models.GetModelAsync("other"));
        var missing = await Assert.ThrowsAsync<System.ClientModel.ClientResultException>(() => models.GetModelAsync("nope"));

        Assert.Equal(("fast", "gatehouse"), (fast.Value.Id, fast.Value.OwnedBy));
        Assert.Equal((404, 404), (other.Status, missing.Status)); // not allowed looks like not there
        Assert.Contains("model_not_found", other.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoModels_RefusesEveryAlias_InEachApisShape()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, anthropicCount: 1, planExtra: "    models: []",
            models: "        fast: [ { provider: p0, model: model-0 } ]\n        claude: [ { provider: a0, model: claude-x } ]\n");

        using var chat = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}"""));
        using var messages = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"claude","max_tokens":9,"messages":[{"role":"user","content":"hi"}]}""", "/v1/messages"));
        var anthropic = JsonNode.Parse(await messages.Content.ReadAsStringAsync())!;

        Assert.Equal(HttpStatusCode.Forbidden, chat.StatusCode);
        Assert.Contains("includes no model", await chat.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, messages.StatusCode);
        Assert.Equal("permission_error", anthropic["error"]!["type"]!.GetValue<string>());
        Assert.Empty(kit.Providers[0].Received);
        Assert.Empty(kit.Anthropic[0].Received);
    }

    [Fact]
    public async Task WithoutModels_EveryAliasServes()
    {
        await using var kit = await AiKit.StartAsync();

        using var other = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"other","messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
    }
}
