using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// The Responses API's answer to a call that a provider served as a chat completion (an Anthropic provider's, after
/// <see cref="Anthropic.AnthropicResponse"/> or <see cref="Anthropic.AnthropicStream"/>): the response object with its
/// output items (a <c>message</c> with the text, a <c>function_call</c> per tool call), its status and its usage. Built
/// whole by <see cref="FromCompletion"/>, or item by item by <see cref="ResponsesFromChatStream"/>.
/// </summary>
internal sealed class ResponsesAnswer(string id, long created)
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true };

    public string Id { get; } = id;

    public string Model { get; set; } = "";

    public List<Item> Items { get; } = [];

    /// <summary>The chat completion's <c>finish_reason</c>: <c>length</c> and <c>content_filter</c> make the response incomplete.</summary>
    public string? Finish { get; set; }

    public AiUsage? Usage { get; set; }

    /// <summary>The gateway keeps this response (<c>ai.responses</c>): its <c>store</c> is true.</summary>
    public bool Stored { get; init; }

    /// <summary>The conversation the response belongs to (the gateway keeps it), or null.</summary>
    public string? Conversation { get; init; }

    /// <summary>A <c>message</c> item (its text) or a <c>function_call</c> item (its call id, name and arguments).</summary>
    public sealed class Item(string id, string? callId, string? name)
    {
        public string Id { get; } = id;

        /// <summary>Null for a message.</summary>
        public string? CallId { get; } = callId;

        public string? Name { get; } = name;

        /// <summary>The message's text, or the call's arguments.</summary>
        public StringBuilder Text { get; } = new();

        public bool IsCall => CallId is not null;
    }

    /// <summary>A <c>chat.completion</c> as a Responses API response object; null when it is not a chat completion.</summary>
    public static byte[]? FromCompletion(ReadOnlySpan<byte> json, string id, long created)
    {
        if (AiJson.Parse(json) is not { } document)
        {
            return null;
        }

        using (document)
        {
            var completion = document.RootElement;
            if (completion.ValueKind != JsonValueKind.Object || !completion.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                return null;
            }

            var answer = new ResponsesAnswer(id, created) { Model = Anthropic.AnthropicResponse.String(completion, "model") ?? "" };
            var choice = choices[0];
            answer.Finish = Anthropic.AnthropicResponse.String(choice, "finish_reason");
            if (choice.TryGetProperty("message", out var message))
            {
                if (Anthropic.AnthropicResponse.String(message, "content") is { Length: > 0 } text)
                {
                    answer.NewItem(null, null).Text.Append(text);
                }

                if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                {
                    foreach (var call in calls.EnumerateArray())
                    {
                        var function = call.TryGetProperty("function", out var f) ? f : default;
                        answer.NewItem(Anthropic.AnthropicResponse.String(call, "id") ?? "", Anthropic.AnthropicResponse.String(function, "name") ?? "")
                            .Text.Append(Anthropic.AnthropicResponse.String(function, "arguments") ?? "{}");
                    }
                }
            }

            if (completion.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
            {
                answer.Usage = Anthropic.MessagesResponse.Usage(usage);
            }

            var buffer = new ArrayBufferWriter<byte>(1024);
            using (var w = new Utf8JsonWriter(buffer, WriterOptions))
            {
                answer.WriteResponse(w, final: true);
            }

            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>A new output item: a message when <paramref name="callId"/> is null, else a function call.</summary>
    public Item NewItem(string? callId, string? name)
    {
        var item = new Item($"{(callId is null ? "msg" : "fc")}_{Id[5..]}_{Items.Count}", callId, name);
        Items.Add(item);
        return item;
    }

    /// <summary>"completed", or "incomplete" when the model stopped at its output limit or its filter.</summary>
    public string Status => Finish is "length" or "content_filter" ? "incomplete" : "completed";

    /// <summary>The response object: in progress (no output yet) or final (every item, the status and the usage).</summary>
    public void WriteResponse(Utf8JsonWriter w, bool final)
    {
        w.WriteStartObject();
        w.WriteString("id", Id);
        w.WriteString("object", "response");
        w.WriteNumber("created_at", created);
        w.WriteString("status", final ? Status : "in_progress");
        w.WriteNull("error");
        if (final && Status == "incomplete")
        {
            w.WriteStartObject("incomplete_details");
            w.WriteString("reason", Finish == "length" ? "max_output_tokens" : "content_filter");
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("incomplete_details");
        }

        w.WriteString("model", Model);
        w.WriteStartArray("output");
        if (final)
        {
            foreach (var item in Items)
            {
                WriteItem(w, item, done: true);
            }
        }

        w.WriteEndArray();
        w.WriteBoolean("store", Stored);
        if (Conversation is not null)
        {
            w.WriteStartObject("conversation");
            w.WriteString("id", Conversation);
            w.WriteEndObject();
        }
        if (final && Usage is { } usage)
        {
            w.WriteStartObject("usage");
            w.WriteNumber("input_tokens", usage.Prompt);
            w.WriteStartObject("input_tokens_details");
            w.WriteNumber("cached_tokens", usage.CacheRead);
            w.WriteEndObject();
            w.WriteNumber("output_tokens", usage.Completion);
            w.WriteStartObject("output_tokens_details");
            w.WriteNumber("reasoning_tokens", 0);
            w.WriteEndObject();
            w.WriteNumber("total_tokens", usage.Prompt + usage.Completion);
            w.WriteEndObject();
        }
        else
        {
            w.WriteNull("usage");
        }

        w.WriteEndObject();
    }

    /// <summary>An output item as it is when added (empty, in progress) or when done.</summary>
    public static void WriteItem(Utf8JsonWriter w, Item item, bool done)
    {
        w.WriteStartObject();
        if (item.IsCall)
        {
            w.WriteString("type", "function_call");
            w.WriteString("id", item.Id);
            w.WriteString("call_id", item.CallId);
            w.WriteString("name", item.Name);
            w.WriteString("arguments", done ? item.Text.ToString() : "");
            w.WriteString("status", done ? "completed" : "in_progress");
        }
        else
        {
            w.WriteString("type", "message");
            w.WriteString("id", item.Id);
            w.WriteString("status", done ? "completed" : "in_progress");
            w.WriteString("role", "assistant");
            w.WriteStartArray("content");
            if (done)
            {
                WriteTextPart(w, null, item.Text.ToString());
            }

            w.WriteEndArray();
        }

        w.WriteEndObject();
    }

    /// <summary>An <c>output_text</c> content part (as a property when <paramref name="name"/> is given).</summary>
    public static void WriteTextPart(Utf8JsonWriter w, string? name, string text)
    {
        if (name is null)
        {
            w.WriteStartObject();
        }
        else
        {
            w.WriteStartObject(name);
        }

        w.WriteString("type", "output_text");
        w.WriteString("text", text);
        w.WriteStartArray("annotations");
        w.WriteEndArray();
        w.WriteEndObject();
    }
}
