using System.Net;
using System.Text;
using Gatehouse.Gateway.Ai;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>Issue 22: weights among the provider models of one priority in an alias.</summary>
[Trait("Issue", "22")]
public sealed class AliasWeightTests
{
    private static readonly Dictionary<string, AiProvider> Providers = new()
    {
        ["a"] = new AiProvider("a", new AiProviderConfig { Url = "http://127.0.0.1:1/v1" }),
        ["b"] = new AiProvider("b", new AiProviderConfig { Url = "http://127.0.0.1:2/v1" }),
        ["c"] = new AiProvider("c", new AiProviderConfig { Url = "http://127.0.0.1:3/v1" }),
    };

    [Fact]
    public void Order_Weights3To1_FirstChoiceSplitWithinOnePercentOf75To25()
    {
        var alias = new AiAlias(
        [
            new AiModelTargetConfig { Provider = "c", Model = "last", Priority = 1 },
            new AiModelTargetConfig { Provider = "a", Model = "heavy", Priority = 0, Weight = 3 },
            new AiModelTargetConfig { Provider = "b", Model = "light", Priority = 0, Weight = 1 },
        ], Providers);
        var random = new Random(22);

        const int Calls = 100_000;
        var heavyFirst = 0;
        for (var i = 0; i < Calls; i++)
        {
            var order = alias.Order(random);
            Assert.Equal(3, order.Length);
            Assert.Equal("last", order[2].Model); // the lower priority always after the whole group
            Assert.NotEqual(order[0].Model, order[1].Model); // the other of the group is the fallback
            heavyFirst += order[0].Model == "heavy" ? 1 : 0;
        }

        // Binomial(100000, 0.75) has a standard deviation of 0.14%; 1% is seven of them.
        Assert.InRange(heavyFirst / (double)Calls, 0.74, 0.76);
    }

    [Fact]
    public void Order_WithoutSharedPriorities_IsTheListOrderEveryTime()
    {
        var alias = new AiAlias(
        [
            new AiModelTargetConfig { Provider = "b", Model = "first" },
            new AiModelTargetConfig { Provider = "a", Model = "second" },
        ], Providers);

        var order = alias.Order(new Random(1));

        Assert.Equal(["first", "second"], order.Select(t => t.Model).ToArray());
        Assert.Same(order, alias.Order(new Random(2)));
    }

    [Fact]
    public async Task Gateway_Weights3To1_400CallsSplitWithinBound()
    {
        await using var kit = await AiKit.StartAsync(models: "        split: [ { provider: p0, model: heavy, priority: 0, weight: 3 }, { provider: p1, model: light, priority: 0, weight: 1 } ]\n");

        const int Calls = 400;
        for (var i = 0; i < Calls; i++)
        {
            using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"split","messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // Expected 300 of 400 at p0; the standard deviation is 8.7 calls, so 260..340 is more than 4.5 of them either side.
        Assert.InRange(kit.Providers[0].Received.Count, 260, 340);
        Assert.Equal(Calls, kit.Providers[0].Received.Count + kit.Providers[1].Received.Count);
    }

    [Fact]
    public async Task Gateway_DrawnProviderFails_OtherOfTheSamePriorityAnswers()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 3, models: "        split: [ { provider: p0, model: heavy, priority: 0, weight: 3 }, { provider: p1, model: light, priority: 0, weight: 1 }, { provider: p2, model: last, priority: 1 } ]\n");
        kit.Providers[0].Fault = FakeFault.ServerError;

        for (var i = 0; i < 20; i++)
        {
            using var response = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"split","messages":[{"role":"user","content":"hi"}]}"""));
            Assert.Contains("\"light\"", await response.Content.ReadAsStringAsync());
        }

        Assert.Equal(20, kit.Providers[1].Received.Count);
        Assert.Empty(kit.Providers[2].Received);
    }
}
