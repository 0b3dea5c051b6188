using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai.Anthropic;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>Issue 22: OpenAI chat requests as Anthropic Messages requests, case by case.</summary>
[Trait("Issue", "22")]
public sealed class AnthropicRequestTests
{
    private static JsonObject Translate(string openai)
    {
        var bytes = AnthropicRequest.Build((JsonObject)JsonNode.Parse(openai)!, "claude-test", out var error);
        Assert.True(bytes is not null, error);
        return (JsonObject)JsonNode.Parse(bytes)!;
    }

    private static string Refused(string openai)
    {
        Assert.Null(AnthropicRequest.Build((JsonObject)JsonNode.Parse(openai)!, "claude-test", out var error));
        return error!;
    }

    [Fact]
    public void PromptCache_MarksTheLastTool_TheSystem_TheLatestTurn_AndTheUserTurnBeforeIt()
    {
        const string Call = """
            {"tools":[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"b"}}],"messages":[
              {"role":"system","content":"rules"},
              {"role":"user","content":"first"},
              {"role":"assistant","content":"ok"},
              {"role":"user","content":"second"},
              {"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"a","arguments":"{}"}}]},
              {"role":"tool","tool_call_id":"t1","content":"done"}]}
            """;
        var bytes = AnthropicRequest.Build((JsonObject)JsonNode.Parse(Call)!, "claude-test", out _, cache: true);
        var body = JsonNode.Parse(bytes!)!;
        var plain = Translate(Call);

        const string Mark = """{"type":"ephemeral"}""";
        Assert.Equal([null, Mark], body["tools"]!.AsArray().Select(t => t!["cache_control"]?.ToJsonString()));
        Assert.Equal("""[{"type":"text","text":"rules","cache_control":{"type":"ephemeral"}}]""", body["system"]!.ToJsonString());
        // Turns: user first, assistant ok, user second, assistant tool_use, user tool_result: the last and "second".
        Assert.Equal([null, null, Mark, null, Mark], body["messages"]!.AsArray().Select(t => t!["content"]!.AsArray()[^1]!["cache_control"]?.ToJsonString()));
        Assert.DoesNotContain("cache_control", plain.ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public void SystemAndDeveloperMessages_JoinedIntoTheTopLevelSystem()
    {
        var body = Translate("""{"messages":[{"role":"system","content":"one"},{"role":"developer","content":[{"type":"text","text":"two"}]},{"role":"user","content":"hi"}],"max_completion_tokens":77}""");

        Assert.Equal("one\n\ntwo", body["system"]!.GetValue<string>());
        Assert.Single(body["messages"]!.AsArray());
        Assert.Equal(77, body["max_tokens"]!.GetValue<int>());
    }

    [Fact]
    public void ParallelToolResults_MergedIntoOneUserTurnBeforeItsText()
    {
        var body = Translate("""
            {"messages":[
              {"role":"user","content":"both"},
              {"role":"assistant","content":null,"tool_calls":[
                {"id":"t1","type":"function","function":{"name":"f","arguments":"{\"a\":1}"}},
                {"id":"t2","type":"function","function":{"name":"g","arguments":""}}]},
              {"role":"tool","tool_call_id":"t1","content":"r1"},
              {"role":"tool","tool_call_id":"t2","content":[{"type":"text","text":"r2"}]},
              {"role":"user","content":"thanks"}]}
            """);

        var turns = body["messages"]!.AsArray();
        Assert.Equal(["user", "assistant", "user"], turns.Select(t => t!["role"]!.GetValue<string>()).ToArray());
        var assistant = turns[1]!["content"]!.AsArray();
        Assert.Equal(["t1", "t2"], assistant.Select(b => b!["id"]!.GetValue<string>()).ToArray());
        Assert.Equal(1, assistant[0]!["input"]!["a"]!.GetValue<int>());
        Assert.Empty(assistant[1]!["input"]!.AsObject()); // no arguments: an empty input
        var results = turns[2]!["content"]!.AsArray();
        Assert.Equal(["tool_result", "tool_result", "text"], results.Select(b => b!["type"]!.GetValue<string>()).ToArray());
        Assert.Equal(("t2", "r2"), (results[1]!["tool_use_id"]!.GetValue<string>(), results[1]!["content"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("\"auto\"", """{"type":"auto"}""")]
    [InlineData("\"none\"", """{"type":"none"}""")]
    [InlineData("\"required\"", """{"type":"any"}""")]
    [InlineData("""{"type":"function","function":{"name":"f"}}""", """{"type":"tool","name":"f"}""")]
    public void ToolChoice_MapsToAnthropicsForm(string openai, string anthropic)
    {
        var body = Translate("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"tool_choice":""" + openai + "}");

        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(anthropic), body["tool_choice"]), body["tool_choice"]!.ToJsonString());
    }

    [Fact]
    public void ParallelToolCallsOff_DisablesParallelToolUse()
    {
        var body = Translate("""{"messages":[{"role":"user","content":"x"}],"tools":[{"type":"function","function":{"name":"f"}}],"parallel_tool_calls":false}""");

        Assert.True(body["tool_choice"]!["disable_parallel_tool_use"]!.GetValue<bool>());
        Assert.Equal("object", body["tools"]![0]!["input_schema"]!["type"]!.GetValue<string>()); // no parameters: an empty object schema
    }

    [Fact]
    public void ImageParts_DataUrlAsBase64AndHttpUrlAsUrl()
    {
        var body = Translate("""{"messages":[{"role":"user","content":[{"type":"text","text":"what?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}},{"type":"image_url","image_url":{"url":"https://example.com/a.png"}}]}]}""");

        var blocks = body["messages"]![0]!["content"]!.AsArray();
        Assert.Equal(("base64", "image/png", "AAAA"), (blocks[1]!["source"]!["type"]!.GetValue<string>(), blocks[1]!["source"]!["media_type"]!.GetValue<string>(), blocks[1]!["source"]!["data"]!.GetValue<string>()));
        Assert.Equal(("url", "https://example.com/a.png"), (blocks[2]!["source"]!["type"]!.GetValue<string>(), blocks[2]!["source"]!["url"]!.GetValue<string>()));
    }

    [Theory]
    [InlineData("""{"messages":[{"role":"user","content":"x"}],"n":3}""", "'n'")]
    [InlineData("""{"messages":[{"role":"function","content":"x"}]}""", "role 'function'")]
    [InlineData("""{"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}""", "only text and image_url")]
    [InlineData("""{"messages":[{"role":"assistant","tool_calls":[{"id":"t","function":{"name":"f","arguments":"[1]"}}]}]}""", "JSON object")]
    [InlineData("""{"messages":[{"role":"tool","content":"x"}]}""", "tool_call_id")]
    [InlineData("""{"messages":"hi"}""", "'messages'")]
    public void RequestAnthropicCannotTake_RefusedWithAReason(string openai, string reason)
    {
        Assert.Contains(reason, Refused(openai), StringComparison.Ordinal);
    }
}
