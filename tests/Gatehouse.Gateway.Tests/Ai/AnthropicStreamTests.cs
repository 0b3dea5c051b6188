using System.IO.Pipelines;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai;
using Gatehouse.Gateway.Ai.Anthropic;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>Issue 22: Anthropic stream events as OpenAI chunks, event by event.</summary>
[Trait("Issue", "22")]
public sealed class AnthropicStreamTests
{
    private static async Task<(List<StreamStep> Steps, string Output, AiCall Call)> RunAsync(bool clientAskedUsage, params string[] events)
    {
        var pipe = new Pipe();
        var dialect = new AnthropicStream(1700000000);
        var call = new AiCall(new DefaultHttpContext(), "req", TokenReservation.None, clientAskedUsage);
        var steps = new List<StreamStep>();
        foreach (var data in events)
        {
            steps.Add(dialect.Step(call, Encoding.UTF8.GetBytes("event: x\ndata: " + data), pipe.Writer, out _, out _));
        }

        await pipe.Writer.FlushAsync();
        await pipe.Writer.CompleteAsync();
        var result = await pipe.Reader.ReadAsync();
        var output = Encoding.UTF8.GetString(result.Buffer);
        pipe.Reader.AdvanceTo(result.Buffer.End);
        return (steps, output, call);
    }

    [Fact]
    public async Task ThinkingAndUnknownEvents_LeftOut_TextAndUsageTranslated()
    {
        var (steps, output, call) = await RunAsync(true,
            """{"type":"message_start","message":{"id":"msg_1","model":"claude-x","usage":{"input_tokens":5,"cache_creation_input_tokens":1,"output_tokens":1}}}""",
            """{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"secret plan"}}""",
            """{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":"sig"}}""",
            """{"type":"content_block_stop","index":0}""",
            """{"type":"some_future_event","x":1}""",
            """{"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}""",
            """{"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Hi"}}""",
            """{"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9}}""",
            """{"type":"message_stop"}""");

        Assert.Equal(StreamStep.Done, steps[^1]);
        Assert.All(steps[..^1], s => Assert.Equal(StreamStep.Continue, s));
        Assert.DoesNotContain("secret plan", output);
        Assert.DoesNotContain("sig", output);
        var chunks = output.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("data: [DONE]", chunks[^1]);
        var json = chunks[..^1].Select(c => JsonNode.Parse(c["data: ".Length..])!).ToArray();
        Assert.All(json, j => Assert.Equal(("msg_1", "chat.completion.chunk", "claude-x", 1700000000L), (j["id"]!.GetValue<string>(), j["object"]!.GetValue<string>(), j["model"]!.GetValue<string>(), j["created"]!.GetValue<long>())));
        Assert.Equal("assistant", json[0]["choices"]![0]!["delta"]!["role"]!.GetValue<string>());
        Assert.Equal("Hi", json[1]["choices"]![0]!["delta"]!["content"]!.GetValue<string>());
        Assert.Equal("length", json[2]["choices"]![0]!["finish_reason"]!.GetValue<string>());
        Assert.Empty(json[3]["choices"]!.AsArray());
        Assert.Equal((6, 9, 15), (json[3]["usage"]!["prompt_tokens"]!.GetValue<int>(), json[3]["usage"]!["completion_tokens"]!.GetValue<int>(), json[3]["usage"]!["total_tokens"]!.GetValue<int>()));
        Assert.Equal(new AiUsage(6, 9, 15, false, CacheWrite: 1), call.Usage); // the cache write is within the prompt, priced apart
    }

    [Fact]
    public async Task ClientDidNotAskForUsage_NoUsageChunkButUsageRecorded()
    {
        var (_, output, call) = await RunAsync(false,
            """{"type":"message_start","message":{"id":"m","model":"c","usage":{"input_tokens":3,"output_tokens":1}}}""",
            """{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":2}}""",
            """{"type":"message_stop"}""");

        Assert.DoesNotContain("\"usage\"", output);
        Assert.Equal(new AiUsage(3, 2, 5, false), call.Usage);
    }

    [Theory]
    [InlineData("{not json", "Malformed")]
    [InlineData("""{"no_type":1}""", "Malformed")]
    [InlineData("""{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}""", "ProviderError")]
    public async Task BrokenOrErrorEvent_EndsTheStream(string data, string expected)
    {
        var (steps, _, _) = await RunAsync(false, """{"type":"message_start","message":{"id":"m","model":"c"}}""", data);

        Assert.Equal(expected, steps[1].ToString());
    }
}
