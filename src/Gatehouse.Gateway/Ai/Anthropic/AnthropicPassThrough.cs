using System.Buffers;
using System.Text.Json;

namespace Gatehouse.Gateway.Ai.Anthropic;

/// <summary>
/// Anthropic's own stream, for clients of Anthropic's Messages API (<c>POST …/messages</c>): each event passed to the
/// client byte for byte. The prompt's tokens are read from <c>message_start</c>, the final counts from the last
/// <c>message_delta</c>, and the text of every delta is kept for an estimate should the stream be cut first.
/// <c>message_stop</c> ends it, and so does a provider's <c>error</c> event, passed on as the client's SDK expects it.
/// </summary>
internal sealed class AnthropicPassThrough : StreamDialect
{
    private static readonly byte[] EventEnd = "\n\n"u8.ToArray();

    private AiUsage _start; // the prompt's part, from message_start (or a message_delta that repeats it)

    public override bool FailsBeforeStart(ReadOnlySpan<byte> eventBytes) => Read(SseReader.Data(eventBytes), null, out _) == "error";

    public override StreamStep Step(AiCall call, ReadOnlySpan<byte> eventBytes, IBufferWriter<byte> writer, out bool wrote, out string? error)
    {
        error = null;
        wrote = false;
        var data = SseReader.Data(eventBytes);
        string? type = null;
        if (!data.IsEmpty)
        {
            type = Read(data, call, out var malformed);
            if (malformed)
            {
                return StreamStep.Malformed;
            }
        }

        writer.Write(eventBytes);
        writer.Write(EventEnd);
        wrote = true;
        return type is "message_stop" or "error" ? StreamStep.Done : StreamStep.Continue;
    }

    /// <summary>Anthropic's error event, which Anthropic's SDKs raise as an error.</summary>
    public override void WriteError(IBufferWriter<byte> writer, string message)
    {
        writer.Write("event: error\ndata: "u8);
        writer.Write(AiJson.AnthropicErrorBody("api_error", message));
        writer.Write(EventEnd);
    }

    private string? Read(ReadOnlySpan<byte> data, AiCall? call, out bool malformed)
    {
        malformed = false;
        if (AiJson.Parse(data) is not { } document)
        {
            malformed = true;
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            var type = AnthropicResponse.String(root, "type");
            malformed = type is null;
            if (call is null)
            {
                return type;
            }

            switch (type)
            {
                case "message_start" when root.TryGetProperty("message", out var message) && message.TryGetProperty("usage", out var start):
                    _start = AnthropicResponse.PromptUsage(start);
                    call.ProviderPrompt = _start.Prompt;
                    break;
                case "content_block_delta" when root.TryGetProperty("delta", out var delta) && call.CompletionText is { } text:
                    text.Append(AnthropicResponse.String(delta, "text") ?? AnthropicResponse.String(delta, "partial_json") ?? AnthropicResponse.String(delta, "thinking"));
                    break;
                case "message_delta" when root.TryGetProperty("usage", out var usage):
                    // Cumulative counts: the last message_delta has the final ones.
                    if (usage.TryGetProperty("input_tokens", out _))
                    {
                        _start = AnthropicResponse.PromptUsage(usage);
                        call.ProviderPrompt = _start.Prompt;
                    }

                    call.Usage = AnthropicResponse.WithCompletion(_start, AnthropicResponse.Number(usage, "output_tokens"));
                    break;
            }

            return type;
        }
    }
}
