using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Mcp;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// OpenAI's Agents SDK for JavaScript (tests/tools/agents-oracle.mjs) through the gateway: an agent whose model calls its
/// function tool before it answers, run twice in one conversation each way the SDK keeps one (the history sent again,
/// <c>previousResponseId</c>, <c>conversationId</c>, and an <c>OpenAIConversationsSession</c>), against a gateway that
/// keeps responses and conversations (<c>ai.responses</c>) in front of a stateless provider.
/// </summary>
[Trait("Issue", "22")]
public sealed class AgentsSdkTests
{
    public const string Package = "@openai/agents";

    [Theory]
    [InlineData("inline", false)]
    [InlineData("previous", false)]
    [InlineData("conversation", false)]
    [InlineData("session", false)]
    [InlineData("previous", true)]
    [InlineData("conversation", true)]
    public async Task AnAgentWithATool_RunsTwiceInOneConversation_AndTheProviderIsSentAllOfIt(string mode, bool stream)
    {
        NodeTools.Require(Package);
        await using var kit = await AiKit.StartAsync(providerCount: 1, aiExtra: AiKit.KeptAnHour);
        kit.Providers[0].UniqueItemIds = true;
        kit.Providers[0].ResponsesCallTools = true;

        var report = await RunAsync(kit, mode, stream);
        var runs = report["runs"]!.AsArray();
        Assert.True(report["error"] is null && runs.Count == 2, report.ToJsonString());

        // Each run: the model called the tool, the SDK ran it and sent its output back, and the model answered.
        foreach (var one in runs)
        {
            Assert.Equal(1, one!["toolCalls"]!.GetValue<int>());
            Assert.Matches("^r[0-9]+ w2 w3 w4 w5$", one["output"]!.GetValue<string>());
            Assert.Matches("^resp_[0-9a-f]{32}$", one["lastResponseId"]!.GetValue<string>());
        }

        // The last call reached the provider with the whole conversation: both questions, both tool calls and their
        // outputs, the first answer; stored nowhere there, and no reference to anything kept.
        var last = kit.Providers[0].Received.Last().Body;
        Assert.False(last["store"]!.GetValue<bool>());
        var sent = last["input"]!.ToJsonString();
        Assert.Contains("What is the weather in Paris?", sent, StringComparison.Ordinal);
        Assert.Contains("And tomorrow?", sent, StringComparison.Ordinal);
        Assert.Contains(runs[0]!["output"]!.GetValue<string>(), sent, StringComparison.Ordinal);
        Assert.Equal(2, last["input"]!.AsArray().Count(item => item?["type"]?.GetValue<string>() == "function_call_output"));
        Assert.Equal(2, last["input"]!.AsArray().Count(item => item?["type"]?.GetValue<string>() == "function_call"));
        Assert.DoesNotContain("item_reference", sent, StringComparison.Ordinal);
        Assert.Null(last["previous_response_id"]);
        Assert.Null(last["conversation"]);

        // How the SDK kept it, as it told the gateway.
        var requests = report["requests"]!.AsArray();
        var creates = requests.Where(r => r!["path"]!.GetValue<string>() == "/v1/responses").Select(r => r!["body"]!).ToArray();
        Assert.Equal(4, creates.Length);
        switch (mode)
        {
            case "previous":
                Assert.Equal(runs[0]!["lastResponseId"]!.GetValue<string>(), creates[2]["previous_response_id"]!.GetValue<string>());
                break;
            case "conversation":
                Assert.All(creates, body => Assert.Equal(report["conversationId"]!.GetValue<string>(), body["conversation"]!.GetValue<string>()));
                var items = (await kit.OkAsync(kit.Key, HttpMethod.Get, $"/v1/conversations/{report["conversationId"]}/items?order=asc&limit=100"))["data"]!.AsArray();
                Assert.Equal(["message", "function_call", "function_call_output", "message", "message", "function_call", "function_call_output", "message"],
                    items.Select(i => i!["type"]!.GetValue<string>()));
                break;
            case "session":
                Assert.Contains(requests, r => r!["method"]!.GetValue<string>() == "POST" && r["path"]!.GetValue<string>() == $"/v1/conversations/{report["conversationId"]}/items");
                Assert.True(report["sessionItems"]!.GetValue<int>() >= 8, report.ToJsonString());
                break;
        }
    }

    internal static async Task<JsonObject> RunAsync(AiKit kit, string mode, bool stream)
    {
        List<string> arguments = ["agents-oracle.mjs", "--base", kit.Gateway.Url + "/v1", "--key", kit.Key.Plaintext, "--model", "fast", "--mode", mode];
        if (stream)
        {
            arguments.Add("--stream");
        }

        var (code, stdout, stderr) = await NodeTools.RunAsync(NodeTools.Node(), arguments, TimeSpan.FromSeconds(60));
        Assert.True(code == 0, $"agents-oracle.mjs exited with {code}:\n{stdout}\n{stderr}");
        return JsonNode.Parse(stdout)!.AsObject();
    }
}
