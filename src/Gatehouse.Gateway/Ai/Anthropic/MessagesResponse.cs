using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Gateway.Ai.Anthropic;

/// <summary>
/// Translates an OpenAI-format provider's whole answers to the Messages API's shapes, for Anthropic's clients: a
/// <c>chat.completion</c> to a Message, an error body to <c>{"type":"error","error":{…}}</c>. The reverse of
/// <see cref="AnthropicResponse"/>.
/// </summary>
internal static class MessagesResponse
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>Anthropic's <c>stop_reason</c> for OpenAI's <c>finish_reason</c>.</summary>
    public static string StopReason(string? finishReason) => finishReason switch
    {
        "length" => "max_tokens",
        "tool_calls" or "function_call" => "tool_use",
        "content_filter" => "refusal",
        _ => "end_turn", // stop, and providers that send none
    };

    /// <summary>
    /// A <c>chat.completion</c> as a Message, with its usage in <paramref name="usage"/> and its text appended to
    /// <paramref name="text"/>; null when it is not a chat completion.
    /// </summary>
    public static byte[]? ToMessage(ReadOnlySpan<byte> json, StringBuilder? text, out AiUsage? usage)
    {
        usage = null;
        if (AiJson.Parse(json) is not { } document)
        {
            return null;
        }

        using (document)
        {
            var completion = document.RootElement;
            if (completion.ValueKind != JsonValueKind.Object || !completion.TryGetProperty("choices", out var choices) || choices.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var choice = choices.GetArrayLength() > 0 ? choices[0] : default;
            var message = choice.ValueKind == JsonValueKind.Object && choice.TryGetProperty("message", out var m) ? m : default;
            var buffer = new ArrayBufferWriter<byte>(1024);
            using var w = new Utf8JsonWriter(buffer, WriterOptions);
            w.WriteStartObject();
            w.WriteString("id", AnthropicResponse.String(completion, "id") ?? "msg");
            w.WriteString("type", "message");
            w.WriteString("role", "assistant");
            w.WriteString("model", AnthropicResponse.String(completion, "model") ?? "");
            w.WriteStartArray("content");
            if (AnthropicResponse.String(message, "content") is { Length: > 0 } answer)
            {
                text?.Append(answer);
                w.WriteStartObject();
                w.WriteString("type", "text");
                w.WriteString("text", answer);
                w.WriteEndObject();
            }

            if (message.ValueKind == JsonValueKind.Object && message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
            {
                foreach (var call in calls.EnumerateArray())
                {
                    var function = call.TryGetProperty("function", out var f) ? f : default;
                    var arguments = AnthropicResponse.String(function, "arguments") ?? "{}";
                    text?.Append(arguments);
                    w.WriteStartObject();
                    w.WriteString("type", "tool_use");
                    w.WriteString("id", AnthropicResponse.String(call, "id") ?? "");
                    w.WriteString("name", AnthropicResponse.String(function, "name") ?? "");
                    w.WritePropertyName("input");
                    WriteInput(w, arguments);
                    w.WriteEndObject();
                }
            }

            w.WriteEndArray();
            w.WriteString("stop_reason", StopReason(AnthropicResponse.String(choice, "finish_reason")));
            w.WriteNull("stop_sequence");
            if (completion.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
            {
                var seen = Usage(u);
                usage = seen;
                WriteUsage(w, seen);
            }
            else
            {
                WriteUsage(w, AiUsage.From(0, 0, 0, estimated: true));
            }

            w.WriteEndObject();
            w.Flush();
            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>OpenAI's usage, with the part of the prompt read from the provider's cache.</summary>
    public static AiUsage Usage(JsonElement usage)
    {
        var cached = usage.TryGetProperty("prompt_tokens_details", out var details) ? AnthropicResponse.Number(details, "cached_tokens") : 0;
        return AiUsage.From(AnthropicResponse.Number(usage, "prompt_tokens"), AnthropicResponse.Number(usage, "completion_tokens"), AnthropicResponse.Number(usage, "total_tokens"), estimated: false, cached);
    }

    /// <summary>
    /// Anthropic's usage: its <c>input_tokens</c> leave out what was read from the cache, which OpenAI's
    /// <c>prompt_tokens</c> include.
    /// </summary>
    public static void WriteUsage(Utf8JsonWriter w, AiUsage usage)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("input_tokens", Math.Max(0, usage.Prompt - usage.CacheRead));
        w.WriteNumber("cache_creation_input_tokens", 0);
        w.WriteNumber("cache_read_input_tokens", usage.CacheRead);
        w.WriteNumber("output_tokens", usage.Completion);
        w.WriteEndObject();
    }

    /// <summary>
    /// A tool call's arguments as the tool_use's <c>input</c>: the object they hold, or, when a model wrote something
    /// that is not a JSON object, <c>{}</c> (Anthropic's clients require an object; the text still counts as output).
    /// </summary>
    public static void WriteInput(Utf8JsonWriter w, string arguments)
    {
        try
        {
            using var input = JsonDocument.Parse(arguments);
            if (input.RootElement.ValueKind == JsonValueKind.Object)
            {
                input.RootElement.WriteTo(w);
                return;
            }
        }
        catch (JsonException)
        {
            // Below.
        }

        w.WriteStartObject();
        w.WriteEndObject();
    }

    /// <summary>
    /// An OpenAI-format error body (<c>{"error":{"message","type"}}</c>) as Anthropic's, its type taken from the status
    /// as Anthropic's API uses them; a body that is not one becomes a sentence with the status.
    /// </summary>
    public static byte[] ToError(ReadOnlySpan<byte> json, int status)
    {
        var message = $"The model's provider refused the call with status {status}.";
        // Not JSON: the sentence above.
        using var document = AiJson.Parse(json);
        if (document?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("error", out var error))
        {
            message = (error.ValueKind == JsonValueKind.String ? error.GetString() : AnthropicResponse.String(error, "message")) ?? message;
        }

        return AiJson.AnthropicErrorBody(AiJson.AnthropicErrorType(status), message);
    }
}
