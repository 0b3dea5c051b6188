using System.Buffers;
using System.Text.Json;

namespace Gatehouse.Gateway.Ai.Anthropic;

/// <summary>
/// Translates Anthropic's stream events, one at a time, into OpenAI <c>chat.completion.chunk</c> events:
/// <c>message_start</c> → the role chunk (and the prompt tokens), text and <c>input_json_delta</c> deltas → content and
/// tool-call chunks, <c>message_delta</c> → the finish chunk (and the completion tokens), <c>message_stop</c> → the usage
/// chunk (for clients that asked) and <c>[DONE]</c>, <c>ping</c> → an SSE comment, <c>error</c> → the end of the stream
/// with an error event. Nothing is held back: each event's chunk is written as soon as the event is read.
/// </summary>
/// <param name="usageChunk">Write the usage chunk whether or not the client asked for it: for a translation after this one
/// in a <see cref="ChainedDialect"/>, which takes its usage from it.</param>
internal sealed class AnthropicStream(long created, bool usageChunk = false) : StreamDialect
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    // Anthropic numbers content blocks (text and tool_use alike); OpenAI numbers tool calls on their own.
    private readonly Dictionary<int, int> _toolIndex = [];
    private string _id = "msg";
    private string _model = "";
    private AiUsage _start; // the prompt's part, from message_start (or a message_delta that repeats it)
    private long _completion;
    private bool _usageSeen;
    private bool _finished;
    private Utf8JsonWriter? _json;

    public override bool FailsBeforeStart(ReadOnlySpan<byte> eventBytes) => Type(SseReader.Data(eventBytes)) == "error";

    public override StreamStep Step(AiCall call, ReadOnlySpan<byte> eventBytes, IBufferWriter<byte> writer, out bool wrote, out string? error)
    {
        wrote = false;
        error = null;
        var data = SseReader.Data(eventBytes);
        if (data.IsEmpty)
        {
            return StreamStep.Continue; // a comment
        }

        if (AiJson.Parse(data) is not { } document)
        {
            return StreamStep.Malformed;
        }

        using (document)
        {
            var root = document.RootElement;
            switch (AnthropicResponse.String(root, "type"))
            {
                case "message_start":
                    if (root.TryGetProperty("message", out var message))
                    {
                        _id = AnthropicResponse.String(message, "id") ?? _id;
                        _model = AnthropicResponse.String(message, "model") ?? _model;
                        if (message.TryGetProperty("usage", out var startUsage))
                        {
                            _start = AnthropicResponse.PromptUsage(startUsage);
                            call.ProviderPrompt = _start.Prompt;
                        }
                    }

                    var role = StartDelta(writer);
                    role.WriteString("role", "assistant");
                    role.WriteString("content", "");
                    EndDelta(writer, null);
                    wrote = true;
                    return StreamStep.Continue;

                case "content_block_start" when root.TryGetProperty("content_block", out var block):
                    var index = (int)AnthropicResponse.Number(root, "index");
                    switch (AnthropicResponse.String(block, "type"))
                    {
                        case "text" when AnthropicResponse.String(block, "text") is { Length: > 0 } text:
                            call.CompletionText?.Append(text);
                            ContentChunk(writer, text);
                            wrote = true;
                            break;
                        case "tool_use":
                            var tool = _toolIndex.Count;
                            _toolIndex[index] = tool;
                            var id = AnthropicResponse.String(block, "id") ?? "";
                            var name = AnthropicResponse.String(block, "name") ?? "";
                            ToolCallChunk(writer, tool, id, name, "");
                            wrote = true;
                            break;
                    }

                    return StreamStep.Continue;

                case "content_block_delta" when root.TryGetProperty("delta", out var delta):
                    switch (AnthropicResponse.String(delta, "type"))
                    {
                        case "text_delta" when AnthropicResponse.String(delta, "text") is { } text:
                            call.CompletionText?.Append(text);
                            ContentChunk(writer, text);
                            wrote = true;
                            break;
                        case "input_json_delta" when AnthropicResponse.String(delta, "partial_json") is { } json
                            && _toolIndex.TryGetValue((int)AnthropicResponse.Number(root, "index"), out var tool):
                            call.CompletionText?.Append(json);
                            ToolCallChunk(writer, tool, null, null, json);
                            wrote = true;
                            break;
                        case "thinking_delta" when AnthropicResponse.String(delta, "thinking") is { } thinking:
                            // Billed as output, so kept for an estimate; not sent (see below).
                            call.CompletionText?.Append(thinking);
                            break;
                    }

                    // Other deltas (thinking, signatures, citations) have no place in OpenAI's chunks.
                    return StreamStep.Continue;

                case "message_delta":
                    if (root.TryGetProperty("usage", out var usage))
                    {
                        // Cumulative counts: the last message_delta has the final ones.
                        if (usage.TryGetProperty("input_tokens", out _))
                        {
                            _start = AnthropicResponse.PromptUsage(usage);
                            call.ProviderPrompt = _start.Prompt;
                        }

                        _completion = AnthropicResponse.Number(usage, "output_tokens");
                        _usageSeen = true;
                        call.Usage = AnthropicResponse.WithCompletion(_start, _completion);
                    }

                    if (!_finished && root.TryGetProperty("delta", out var messageDelta) && AnthropicResponse.String(messageDelta, "stop_reason") is { } stop)
                    {
                        _finished = true;
                        StartDelta(writer);
                        EndDelta(writer, AnthropicResponse.FinishReason(stop));
                        wrote = true;
                    }

                    return StreamStep.Continue;

                case "message_stop":
                    if (_usageSeen && (usageChunk || call.ClientAskedUsage))
                    {
                        UsageChunk(writer);
                    }

                    writer.Write("data: [DONE]\n\n"u8);
                    wrote = true;
                    return StreamStep.Done;

                case "ping":
                    writer.Write(": ping\n\n"u8);
                    wrote = true;
                    return StreamStep.Continue;

                case "error":
                    var kind = root.TryGetProperty("error", out var e) ? AnthropicResponse.String(e, "type") : null;
                    error = $"The provider reported an error mid-stream ({kind ?? "unknown"}); the stream is ended.";
                    return StreamStep.ProviderError;

                case null:
                    return StreamStep.Malformed;

                default:
                    // content_block_stop, and event types Anthropic may add: nothing for the client.
                    return StreamStep.Continue;
            }
        }
    }

    // A chunk is written in two halves around its delta's properties (no delegate, nothing allocated per event).
    private Utf8JsonWriter StartDelta(IBufferWriter<byte> writer)
    {
        var w = Start(writer);
        w.WriteStartArray("choices");
        w.WriteStartObject();
        w.WriteNumber("index", 0);
        w.WriteStartObject("delta");
        return w;
    }

    private void EndDelta(IBufferWriter<byte> writer, string? finishReason)
    {
        var w = _json!;
        w.WriteEndObject();
        w.WriteNull("logprobs");
        if (finishReason is null)
        {
            w.WriteNull("finish_reason");
        }
        else
        {
            w.WriteString("finish_reason", finishReason);
        }

        w.WriteEndObject();
        w.WriteEndArray();
        End(writer, w);
    }

    private void ContentChunk(IBufferWriter<byte> writer, string text)
    {
        StartDelta(writer).WriteString("content", text);
        EndDelta(writer, null);
    }

    /// <summary>A tool call's first chunk (with its id and name), or one with a fragment of its arguments.</summary>
    private void ToolCallChunk(IBufferWriter<byte> writer, int tool, string? id, string? name, string arguments)
    {
        var w = StartDelta(writer);
        w.WriteStartArray("tool_calls");
        w.WriteStartObject();
        w.WriteNumber("index", tool);
        if (id is not null)
        {
            w.WriteString("id", id);
            w.WriteString("type", "function");
        }

        w.WriteStartObject("function");
        if (name is not null)
        {
            w.WriteString("name", name);
        }

        w.WriteString("arguments", arguments);
        w.WriteEndObject();
        w.WriteEndObject();
        w.WriteEndArray();
        EndDelta(writer, null);
    }

    private void UsageChunk(IBufferWriter<byte> writer)
    {
        var w = Start(writer);
        w.WriteStartArray("choices");
        w.WriteEndArray();
        AnthropicResponse.WriteUsage(w, AnthropicResponse.WithCompletion(_start, _completion));
        End(writer, w);
    }

    private Utf8JsonWriter Start(IBufferWriter<byte> writer)
    {
        writer.Write("data: "u8);
        if (_json is null)
        {
            _json = new Utf8JsonWriter(writer, WriterOptions);
        }
        else
        {
            _json.Reset(writer);
        }

        var w = _json;
        w.WriteStartObject();
        w.WriteString("id", _id);
        w.WriteString("object", "chat.completion.chunk");
        w.WriteNumber("created", created);
        w.WriteString("model", _model);
        return w;
    }

    private static void End(IBufferWriter<byte> writer, Utf8JsonWriter w)
    {
        w.WriteEndObject();
        w.Flush();
        writer.Write("\n\n"u8);
    }

    private static string? Type(ReadOnlySpan<byte> data)
    {
        using var document = AiJson.Parse(data);
        return document is null ? null : AnthropicResponse.String(document.RootElement, "type");
    }
}
