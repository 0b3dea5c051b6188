using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai.Anthropic;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>The translation of a Messages API call into a chat completion call, case by case.</summary>
[Trait("Issue", "22")]
public sealed class MessagesRequestTests
{
    [Fact]
    public void SystemBlocks_Images_ToolResultsWithImagesAndErrors_BecomeOpenAIsMessages()
    {
        var chat = Translate("""
            {"model":"m","max_tokens":10,"system":[{"type":"text","text":"one","cache_control":{"type":"ephemeral"}},{"type":"text","text":"two"}],"messages":[
              {"role":"user","content":[{"type":"text","text":"look"},{"type":"image","source":{"type":"base64","media_type":"image/png","data":"AAAA"}}]},
              {"role":"assistant","content":[{"type":"tool_use","id":"t1","name":"shot","input":{}},{"type":"tool_use","id":"t2","name":"shot","input":{"x":1}}]},
              {"role":"user","content":[
                {"type":"tool_result","tool_use_id":"t1","content":[{"type":"text","text":"here"},{"type":"image","source":{"type":"url","url":"https://x.test/a.png"}}]},
                {"type":"tool_result","tool_use_id":"t2","is_error":true,"content":"no screen"}]}]}
            """, "max_completion_tokens");

        Assert.Equal(10, chat["max_completion_tokens"]!.GetValue<int>());
        Assert.False(chat.ContainsKey("max_tokens"));
        Assert.Equal(
            """[{"role":"system","content":"one\n\ntwo"},"""
            + """{"role":"user","content":[{"type":"text","text":"look"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AAAA"}}]},"""
            + """{"role":"assistant","content":null,"tool_calls":[{"id":"t1","type":"function","function":{"name":"shot","arguments":"{}"}},{"id":"t2","type":"function","function":{"name":"shot","arguments":"{\u0022x\u0022:1}"}}]},"""
            + """{"role":"tool","tool_call_id":"t1","content":"here"},{"role":"tool","tool_call_id":"t2","content":"Error: no screen"},"""
            + """{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x.test/a.png"}}]}]""",
            chat["messages"]!.ToJsonString());
    }

    [Theory]
    [InlineData("""{"type":"auto"}""", "\"auto\"")]
    [InlineData("""{"type":"any"}""", "\"required\"")]
    [InlineData("""{"type":"none"}""", "\"none\"")]
    [InlineData("""{"type":"tool","name":"f"}""", """{"type":"function","function":{"name":"f"}}""")]
    public void ToolChoice_TakesOpenAIsForm(string anthropic, string openai)
    {
        var chat = Translate($$$"""{"model":"m","max_tokens":1,"tools":[{"name":"f","input_schema":{"type":"object"}}],"tool_choice":{{{anthropic}}},"messages":[{"role":"user","content":"hi"}]}""");

        Assert.Equal(openai, chat["tool_choice"]!.ToJsonString());
        Assert.False(chat.ContainsKey("parallel_tool_calls"));
    }

    [Theory]
    [InlineData("""{"model":"m","max_tokens":1,"messages":[{"role":"assistant","content":[{"type":"server_tool_use","id":"s","name":"web_search","input":{}}]}]}""", "messages[0].content[0]: a 'server_tool_use' block")]
    [InlineData("""{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"t","content":[{"type":"document","source":{}}]}]}]}""", "messages[0].content[0].content[0]: a 'document' block")]
    [InlineData("""{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"image","source":{"type":"file","file_id":"f"}}]}]}""", "messages[0].content[0]: only images given as base64 or as a URL")]
    [InlineData("""{"model":"m","max_tokens":1,"system":[{"type":"image"}],"messages":[]}""", "system[0] must be a text block")]
    [InlineData("""{"model":"m","max_tokens":1,"tool_choice":{"type":"sometimes"},"messages":[]}""", "'tool_choice' must be")]
    public void WhatHasNoOpenAIForm_IsRefusedWithWhereItIs(string json, string error)
    {
        Assert.Null(MessagesRequest.ToChat((JsonObject)JsonNode.Parse(json)!, "m", "max_tokens", out var message));
        Assert.StartsWith(error, message, StringComparison.Ordinal);
    }

    [Fact]
    public void ThinkingAlone_LeavesNoAssistantTurn_AndTopKIsLeftOut()
    {
        var chat = Translate("""{"model":"m","max_tokens":1,"top_k":3,"messages":[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"thinking","thinking":"t","signature":"s"}]},{"role":"user","content":"b"}]}""");

        Assert.Equal("""[{"role":"user","content":"a"},{"role":"user","content":"b"}]""", chat["messages"]!.ToJsonString());
        Assert.False(chat.ContainsKey("top_k"));
    }

    private static JsonObject Translate(string json, string limitName = "max_tokens")
    {
        var bytes = MessagesRequest.ToChat((JsonObject)JsonNode.Parse(json)!, "provider-model", limitName, out var error);
        Assert.Null(error);
        return (JsonObject)JsonNode.Parse(bytes!)!;
    }
}
