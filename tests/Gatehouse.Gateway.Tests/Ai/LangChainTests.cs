using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Mcp;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// LangChain.js's <c>ChatOpenAI</c> (tests/tools/langchain-oracle.mjs) through the gateway: a chat of two turns that
/// LangChain keeps itself, over chat completions and over the Responses API (with a function tool it answers), streamed
/// and not, at a stateless gateway and at one that keeps responses.
/// </summary>
[Trait("Issue", "22")]
public sealed class LangChainTests
{
    [Theory]
    [InlineData(false, false, false)]
    [InlineData(false, true, false)]
    [InlineData(true, false, false)]
    [InlineData(true, true, false)]
    [InlineData(true, false, true)]
    [InlineData(true, true, true)]
    public async Task ATwoTurnChat_ReachesTheProviderWhole_AndItsAnswersComeBack(bool responses, bool stream, bool kept)
    {
        NodeTools.Require("@langchain/openai");
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: kept ? AiKit.KeptAnHour : "");
        kit.Providers[0].UniqueItemIds = true;
        kit.Providers[0].ResponsesCallTools = true;

        List<string> arguments = ["langchain-oracle.mjs", "--base", kit.Gateway.Url + "/v1", "--key", kit.Key.Plaintext, "--model", "fast", "--turns", "2"];
        arguments.AddRange(responses ? ["--responses", "--tools"] : []);
        arguments.AddRange(stream ? ["--stream"] : []);
        var (code, stdout, stderr) = await NodeTools.RunAsync(NodeTools.Node(), arguments, TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"langchain-oracle.mjs exited with {code}:\n{stdout}\n{stderr}");
        var report = JsonNode.Parse(stdout)!.AsObject();
        var turns = report["turns"]!.AsArray();
        Assert.True(report["error"] is null && turns.Count == 2, report.ToJsonString());

        // Each turn's answer is the provider's text (the Responses API's after the tool was called and answered).
        foreach (var turn in turns)
        {
            Assert.Matches(responses ? "^r[0-9]+ w2 w3 w4 w5$" : "^w1 w2 w3 w4 w5$", turn!["text"]!.GetValue<string>());
            Assert.Equal(responses ? 1 : 0, turn["toolCalls"]!.GetValue<int>());
        }

        // The last call carried the whole chat to the provider: both questions and the first answer (and, over the
        // Responses API, both tool calls and their outputs).
        var last = kit.Providers[0].Received.Last().Body;
        var sent = (responses ? last["input"] : last["messages"])!.ToJsonString();
        Assert.Contains("question 1", sent, StringComparison.Ordinal);
        Assert.Contains("question 2", sent, StringComparison.Ordinal);
        Assert.Contains(turns[0]!["text"]!.GetValue<string>(), sent, StringComparison.Ordinal);
        if (responses)
        {
            Assert.False(last["store"]!.GetValue<bool>());
            Assert.Equal(2, last["input"]!.AsArray().Count(item => item?["type"]?.GetValue<string>() == "function_call_output"));
        }

        Assert.Equal(responses ? 4 : 2, report["requests"]!.AsArray().Count);
    }
}
