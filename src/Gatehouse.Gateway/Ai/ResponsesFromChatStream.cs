using System.Buffers;
using System.Text.Json;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Translates a stream of <c>chat.completion.chunk</c> events into the Responses API's typed events, one chunk at a
/// time: the first chunk → <c>response.created</c> and <c>response.in_progress</c>; content → a <c>message</c> item
/// (<c>output_item.added</c>, <c>content_part.added</c>, <c>output_text.delta</c>s); each tool call → a
/// <c>function_call</c> item (<c>output_item.added</c>, <c>function_call_arguments.delta</c>s); an item is closed with
/// its <c>.done</c> events when the next begins or the choice finishes; <c>[DONE]</c> → <c>response.completed</c> (or
/// <c>response.incomplete</c>) with every item and the usage. Each event carries its <c>sequence_number</c>. It does
/// not keep the text for estimates: it follows a dialect that does (<see cref="ChainedDialect"/>).
/// </summary>
internal sealed class ResponsesFromChatStream(string id, long created, bool stored = false, string? conversation = null) : StreamDialect
{
    private readonly ResponsesAnswer _answer = new(id, created) { Stored = stored, Conversation = conversation };
    private readonly Dictionary<int, ResponsesAnswer.Item> _calls = [];
    private ResponsesAnswer.Item? _open;
    private bool _started;
    private int _sequence;
    private readonly TypedEventWriter _events = new();

    public override StreamStep Step(AiCall call, ReadOnlySpan<byte> eventBytes, IBufferWriter<byte> writer, out bool wrote, out string? error)
    {
        wrote = false;
        error = null;
        var data = SseReader.Data(eventBytes);
        if (data.IsEmpty)
        {
            return StreamStep.Continue;
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            Begin(writer);
            Close(writer);
            var w = Start(writer, _answer.Status == "completed" ? "response.completed" : "response.incomplete");
            w.WritePropertyName("response");
            _answer.WriteResponse(w, final: true);
            End(writer);
            if (stored)
            {
                // What the gateway keeps of it (docs/ai.md, "Responses kept by the gateway").
                var kept = new ArrayBufferWriter<byte>(1024);
                using (var json = new Utf8JsonWriter(kept, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
                {
                    _answer.WriteResponse(json, final: true);
                }

                call.Final = kept.WrittenSpan.ToArray();
            }

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
                _answer.Model = Anthropic.AnthropicResponse.String(chunk, "model") ?? "";
                Begin(writer);
                wrote = true;
            }

            if (chunk.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                _answer.Usage = Anthropic.MessagesResponse.Usage(usage);
                call.Usage = _answer.Usage;
            }

            if (!chunk.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                return StreamStep.Continue;
            }

            var choice = choices[0];
            if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
            {
                if (Anthropic.AnthropicResponse.String(delta, "content") is { Length: > 0 } text)
                {
                    if (_open is null || _open.IsCall)
                    {
                        Close(writer);
                        Open(writer, _answer.NewItem(null, null));
                    }

                    _open!.Text.Append(text);
                    TextEvent(writer, "response.output_text.delta", _open, "delta", text);
                    wrote = true;
                }

                if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    foreach (var part in calls.EnumerateArray())
                    {
                        wrote |= ToolCall(part, writer);
                    }
                }
            }

            if (Anthropic.AnthropicResponse.String(choice, "finish_reason") is { } finish)
            {
                _answer.Finish = finish;
                wrote |= Close(writer);
            }

            return StreamStep.Continue;
        }
    }

    /// <summary>The Responses API's own error event.</summary>
    public override void WriteError(IBufferWriter<byte> writer, string message) => ResponsesStreamDialect.Instance.WriteError(writer, message);

    private bool ToolCall(JsonElement part, IBufferWriter<byte> writer)
    {
        var index = (int)Anthropic.AnthropicResponse.Number(part, "index");
        var function = part.TryGetProperty("function", out var f) ? f : default;
        var wrote = false;
        if (!_calls.TryGetValue(index, out var item))
        {
            Close(writer);
            item = _answer.NewItem(Anthropic.AnthropicResponse.String(part, "id") ?? $"call_{index}", Anthropic.AnthropicResponse.String(function, "name") ?? "");
            _calls[index] = item;
            Open(writer, item);
            wrote = true;
        }

        if (Anthropic.AnthropicResponse.String(function, "arguments") is { Length: > 0 } arguments)
        {
            // A fragment of a call already closed (providers send one call's fragments together) still goes into the
            // final item, though no delta event can carry it any more.
            item.Text.Append(arguments);
            if (ReferenceEquals(item, _open))
            {
                var w = Start(writer, "response.function_call_arguments.delta");
                ItemAt(w, item);
                w.WriteString("delta", arguments);
                End(writer);
                wrote = true;
            }
        }

        return wrote;
    }

    // response.created and response.in_progress, once.
    private void Begin(IBufferWriter<byte> writer)
    {
        if (_started)
        {
            return;
        }

        _started = true;
        foreach (var type in (ReadOnlySpan<string>)["response.created", "response.in_progress"])
        {
            var w = Start(writer, type);
            w.WritePropertyName("response");
            _answer.WriteResponse(w, final: false);
            End(writer);
        }
    }

    private void Open(IBufferWriter<byte> writer, ResponsesAnswer.Item item)
    {
        _open = item;
        var w = Start(writer, "response.output_item.added");
        w.WriteNumber("output_index", _answer.Items.IndexOf(item));
        w.WritePropertyName("item");
        ResponsesAnswer.WriteItem(w, item, done: false);
        End(writer);
        if (!item.IsCall)
        {
            w = Start(writer, "response.content_part.added");
            ItemAt(w, item);
            w.WriteNumber("content_index", 0);
            ResponsesAnswer.WriteTextPart(w, "part", "");
            End(writer);
        }
    }

    // The open item's .done events.
    private bool Close(IBufferWriter<byte> writer)
    {
        if (_open is not { } item)
        {
            return false;
        }

        _open = null;
        var text = item.Text.ToString();
        Utf8JsonWriter w;
        if (item.IsCall)
        {
            w = Start(writer, "response.function_call_arguments.done");
            ItemAt(w, item);
            w.WriteString("name", item.Name);
            w.WriteString("arguments", text);
            End(writer);
        }
        else
        {
            TextEvent(writer, "response.output_text.done", item, "text", text);
            w = Start(writer, "response.content_part.done");
            ItemAt(w, item);
            w.WriteNumber("content_index", 0);
            ResponsesAnswer.WriteTextPart(w, "part", text);
            End(writer);
        }

        w = Start(writer, "response.output_item.done");
        w.WriteNumber("output_index", _answer.Items.IndexOf(item));
        w.WritePropertyName("item");
        ResponsesAnswer.WriteItem(w, item, done: true);
        End(writer);
        return true;
    }

    // An output_text event of a message item: its delta, or its whole text when done.
    private void TextEvent(IBufferWriter<byte> writer, string type, ResponsesAnswer.Item item, string name, string text)
    {
        var w = Start(writer, type);
        ItemAt(w, item);
        w.WriteNumber("content_index", 0);
        w.WriteString(name, text);
        w.WriteStartArray("logprobs");
        w.WriteEndArray();
        End(writer);
    }

    private void ItemAt(Utf8JsonWriter w, ResponsesAnswer.Item item)
    {
        w.WriteString("item_id", item.Id);
        w.WriteNumber("output_index", _answer.Items.IndexOf(item));
    }

    // "event: TYPE\ndata: {"type":TYPE,"sequence_number":N,…}\n\n", written around the event's own properties.
    private Utf8JsonWriter Start(IBufferWriter<byte> writer, string type)
    {
        var w = _events.Start(writer, type);
        w.WriteNumber("sequence_number", _sequence++);
        return w;
    }

    private void End(IBufferWriter<byte> writer) => _events.End(writer);
}
