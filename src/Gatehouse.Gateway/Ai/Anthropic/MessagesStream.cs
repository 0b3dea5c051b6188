using System.Buffers;
using System.Text.Json;

namespace Gatehouse.Gateway.Ai.Anthropic;

/// <summary>
/// Translates an OpenAI-format provider's <c>chat.completion.chunk</c> events, one at a time, into the event stream of
/// Anthropic's Messages API, for Anthropic's clients (Claude Code, the SDKs): the first chunk → <c>message_start</c>;
/// content → a text block (<c>content_block_start</c>, <c>text_delta</c>s); each tool call → a <c>tool_use</c> block
/// whose arguments arrive as <c>input_json_delta</c>s; <c>finish_reason</c> → the open block's <c>content_block_stop</c>;
/// <c>[DONE]</c> → <c>message_delta</c> (the stop reason and the provider's usage, which OpenAI sends last) and
/// <c>message_stop</c>. The reverse of <see cref="AnthropicStream"/>. Nothing is held back beyond the one event read.
/// </summary>
internal sealed class MessagesStream : StreamDialect
{
    // OpenAI numbers tool calls on their own; Anthropic numbers every content block.
    private readonly Dictionary<int, int> _toolBlock = [];
    private int _blocks;
    private int _open = -1;
    private bool _openIsText;
    private bool _started;
    private string? _finish;
    private AiUsage? _usage;
    private readonly TypedEventWriter _events = new();

    public override bool FailsBeforeStart(ReadOnlySpan<byte> eventBytes)
    {
        var data = SseReader.Data(eventBytes);
        return !data.IsEmpty && IsError(data);
    }

    public override StreamStep Step(AiCall call, ReadOnlySpan<byte> eventBytes, IBufferWriter<byte> writer, out bool wrote, out string? error)
    {
        wrote = false;
        error = null;
        var data = SseReader.Data(eventBytes);
        if (data.IsEmpty)
        {
            return StreamStep.Continue; // a comment or a keep-alive
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            if (!_started)
            {
                _started = true;
                MessageStart(writer, "msg", "");
            }

            Close(writer);
            var w = Start(writer, "message_delta");
            w.WriteStartObject("delta");
            w.WriteString("stop_reason", MessagesResponse.StopReason(_finish));
            w.WriteNull("stop_sequence");
            w.WriteEndObject();
            if (_usage is { } usage)
            {
                MessagesResponse.WriteUsage(w, usage);
            }
            else
            {
                // No usage from the provider: the client is told nothing was counted, and the gateway estimates its own.
                w.WriteStartObject("usage");
                w.WriteNumber("output_tokens", 0);
                w.WriteEndObject();
            }

            End(writer);
            Start(writer, "message_stop");
            End(writer);
            wrote = true;
            return StreamStep.Done;
        }

        if (AiJson.ReadChunk(data, out var document, out error) is { } refused)
        {
            return refused;
        }

        using (document)
        {
            var chunk = document!.RootElement;

            if (!_started)
            {
                _started = true;
                MessageStart(writer, AnthropicResponse.String(chunk, "id") ?? "msg", AnthropicResponse.String(chunk, "model") ?? "");
                wrote = true;
            }

            if (chunk.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
            {
                var usage = MessagesResponse.Usage(u);
                _usage = usage;
                call.Usage = usage;
            }

            if (!chunk.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                return StreamStep.Continue;
            }

            var choice = choices[0];
            if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
            {
                if (AnthropicResponse.String(delta, "content") is { Length: > 0 } text)
                {
                    call.CompletionText?.Append(text);
                    if (_open < 0 || !_openIsText)
                    {
                        Close(writer);
                        OpenText(writer);
                    }

                    BlockDelta(writer, _open, "text_delta", "text", text);
                    wrote = true;
                }

                // Reasoning that compatible servers stream beside the content (vLLM's and DeepSeek's reasoning_content,
                // OpenRouter's and Ollama's reasoning): billed as output, so kept for an estimate, but not sent:
                // Anthropic's thinking blocks carry a signature no other model can make.
                if ((AnthropicResponse.String(delta, "reasoning_content") ?? AnthropicResponse.String(delta, "reasoning")) is { Length: > 0 } reasoning)
                {
                    call.CompletionText?.Append(reasoning);
                }

                if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in calls.EnumerateArray())
                    {
                        wrote |= ToolCall(call, part, writer);
                    }
                }
            }

            if (AnthropicResponse.String(choice, "finish_reason") is { } finish)
            {
                _finish = finish;
                wrote |= Close(writer);
            }

            return StreamStep.Continue;
        }
    }

    /// <summary>Anthropic's error event, which Anthropic's SDKs raise as an error.</summary>
    public override void WriteError(IBufferWriter<byte> writer, string message)
    {
        writer.Write("event: error\ndata: "u8);
        writer.Write(AiJson.AnthropicErrorBody("api_error", message));
        writer.Write("\n\n"u8);
    }

    // One fragment of a tool call: its first opens a tool_use block (with its id and name), the rest add to its input.
    private bool ToolCall(AiCall call, JsonElement part, IBufferWriter<byte> writer)
    {
        var index = (int)AnthropicResponse.Number(part, "index");
        var function = part.TryGetProperty("function", out var f) ? f : default;
        var wrote = false;
        if (!_toolBlock.TryGetValue(index, out var block))
        {
            wrote = Close(writer);
            block = _blocks++;
            _toolBlock[index] = block;
            _open = block;
            _openIsText = false;
            var w = Start(writer, "content_block_start");
            w.WriteNumber("index", block);
            w.WriteStartObject("content_block");
            w.WriteString("type", "tool_use");
            w.WriteString("id", AnthropicResponse.String(part, "id") ?? $"toolu_{index}");
            w.WriteString("name", AnthropicResponse.String(function, "name") ?? "");
            w.WriteStartObject("input");
            w.WriteEndObject();
            w.WriteEndObject();
            End(writer);
            wrote = true;
        }

        if (AnthropicResponse.String(function, "arguments") is { Length: > 0 } arguments)
        {
            call.CompletionText?.Append(arguments);
            if (block != _open)
            {
                // Providers send one tool call's fragments together; a fragment of a block already closed cannot be
                // delivered in Anthropic's stream, whose blocks are sequential. Counted, not sent.
                return wrote;
            }

            BlockDelta(writer, block, "input_json_delta", "partial_json", arguments);
            wrote = true;
        }

        return wrote;
    }

    // content_block_delta: {"index":I,"delta":{"type":TYPE,NAME:VALUE}}.
    private void BlockDelta(IBufferWriter<byte> writer, int index, string type, string name, string value)
    {
        var w = Start(writer, "content_block_delta");
        w.WriteNumber("index", index);
        w.WriteStartObject("delta");
        w.WriteString("type", type);
        w.WriteString(name, value);
        w.WriteEndObject();
        End(writer);
    }

    private void MessageStart(IBufferWriter<byte> writer, string id, string model)
    {
        var w = Start(writer, "message_start");
        w.WriteStartObject("message");
        w.WriteString("id", id);
        w.WriteString("type", "message");
        w.WriteString("role", "assistant");
        w.WriteString("model", model);
        w.WriteStartArray("content");
        w.WriteEndArray();
        w.WriteNull("stop_reason");
        w.WriteNull("stop_sequence");
        // OpenAI reports the prompt's tokens only at the end: message_delta has them.
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", 0);
        w.WriteNumber("output_tokens", 0);
        w.WriteEndObject();
        w.WriteEndObject();
        End(writer);
    }

    private void OpenText(IBufferWriter<byte> writer)
    {
        _open = _blocks++;
        _openIsText = true;
        var w = Start(writer, "content_block_start");
        w.WriteNumber("index", _open);
        w.WriteStartObject("content_block");
        w.WriteString("type", "text");
        w.WriteString("text", "");
        w.WriteEndObject();
        End(writer);
    }

    private bool Close(IBufferWriter<byte> writer)
    {
        if (_open < 0)
        {
            return false;
        }

        var w = Start(writer, "content_block_stop");
        w.WriteNumber("index", _open);
        End(writer);
        _open = -1;
        return true;
    }

    private Utf8JsonWriter Start(IBufferWriter<byte> writer, string type) => _events.Start(writer, type);

    private void End(IBufferWriter<byte> writer) => _events.End(writer);

    private static bool IsError(ReadOnlySpan<byte> data)
    {
        using var document = AiJson.Parse(data);
        return document is not null && document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("error", out _);
    }
}
