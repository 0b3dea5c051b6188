using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Gatehouse.Gateway.Ai.Anthropic;

/// <summary>
/// Translates Anthropic's whole answers back to OpenAI's shapes: a Message to a <c>chat.completion</c>, an error body to
/// <c>{"error":{…}}</c>. Parsed with <see cref="JsonDocument"/> (pooled) rather than a hand-rolled reader: an answer is
/// read once, and clarity matters more here than the last allocation.
/// </summary>
internal static class AnthropicResponse
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>OpenAI's <c>finish_reason</c> for Anthropic's <c>stop_reason</c>.</summary>
    public static string FinishReason(string? stopReason) => stopReason switch
    {
        "max_tokens" => "length",
        "tool_use" => "tool_calls",
        "refusal" => "content_filter",
        _ => "stop", // end_turn, stop_sequence, pause_turn
    };

    /// <summary>
    /// Prompt tokens are what Anthropic bills as input: <c>input_tokens</c> plus the tokens written to and read from its
    /// prompt cache, which it reports apart.
    /// </summary>
    public static long PromptTokens(JsonElement usage) =>
        Number(usage, "input_tokens") + Number(usage, "cache_creation_input_tokens") + Number(usage, "cache_read_input_tokens");

    /// <summary>A usage object's prompt part: <see cref="PromptTokens"/>, of which the cache's reads and writes.</summary>
    public static AiUsage PromptUsage(JsonElement usage) =>
        AiUsage.From(PromptTokens(usage), 0, 0, estimated: false, Number(usage, "cache_read_input_tokens"), Number(usage, "cache_creation_input_tokens"));

    /// <summary>The whole usage: <paramref name="prompt"/>'s part with <paramref name="completion"/> output tokens.</summary>
    public static AiUsage WithCompletion(AiUsage prompt, long completion) =>
        AiUsage.From(prompt.Prompt, completion, 0, estimated: false, prompt.CacheRead, prompt.CacheWrite);

    public static long Number(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var n) && n >= 0 ? n : 0;

    /// <summary>
    /// A Message as a <c>chat.completion</c>, with its usage in <paramref name="usage"/> and its text appended to
    /// <paramref name="text"/>; null when it is not a Message.
    /// </summary>
    public static byte[]? ToCompletion(ReadOnlySpan<byte> json, long created, StringBuilder? text, out AiUsage? usage)
    {
        usage = null;
        if (AiJson.Parse(json) is not { } document)
        {
            return null;
        }

        using (document)
        {
            var message = document.RootElement;
            if (message.ValueKind != JsonValueKind.Object || !message.TryGetProperty("content", out var content) || content.ValueKind != JsonValueKind.Array)
            {
                return null;
            }

            var buffer = new ArrayBufferWriter<byte>(1024);
            using var w = new Utf8JsonWriter(buffer, WriterOptions);
            w.WriteStartObject();
            w.WriteString("id", String(message, "id") ?? "msg");
            w.WriteString("object", "chat.completion");
            w.WriteNumber("created", created);
            w.WriteString("model", String(message, "model") ?? "");
            w.WriteStartArray("choices");
            w.WriteStartObject();
            w.WriteNumber("index", 0);
            w.WriteStartObject("message");
            w.WriteString("role", "assistant");

            var answer = new StringBuilder();
            var tools = 0;
            foreach (var block in content.EnumerateArray())
            {
                if (String(block, "type") == "text" && String(block, "text") is { } part)
                {
                    answer.Append(part);
                }
                else if (String(block, "type") == "tool_use")
                {
                    tools++;
                }
            }

            if (answer.Length > 0 || tools == 0)
            {
                w.WriteString("content", answer.ToString());
            }
            else
            {
                w.WriteNull("content");
            }

            text?.Append(answer);
            if (tools > 0)
            {
                w.WriteStartArray("tool_calls");
                foreach (var block in content.EnumerateArray())
                {
                    if (String(block, "type") != "tool_use")
                    {
                        continue;
                    }

                    var arguments = block.TryGetProperty("input", out var input) ? input.GetRawText() : "{}";
                    text?.Append(arguments);
                    w.WriteStartObject();
                    w.WriteString("id", String(block, "id") ?? "");
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", String(block, "name") ?? "");
                    w.WriteString("arguments", arguments);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }

            w.WriteNull("refusal");
            w.WriteEndObject();
            w.WriteNull("logprobs");
            w.WriteString("finish_reason", FinishReason(String(message, "stop_reason")));
            w.WriteEndObject();
            w.WriteEndArray();
            if (message.TryGetProperty("usage", out var u) && u.ValueKind == JsonValueKind.Object)
            {
                var seen = WithCompletion(PromptUsage(u), Number(u, "output_tokens"));
                usage = seen;
                WriteUsage(w, seen);
            }

            w.WriteEndObject();
            w.Flush();
            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>Chat completions' usage, the prompt's tokens read from the cache as <c>cached_tokens</c>.</summary>
    public static void WriteUsage(Utf8JsonWriter w, AiUsage usage)
    {
        w.WriteStartObject("usage");
        w.WriteNumber("prompt_tokens", usage.Prompt);
        w.WriteNumber("completion_tokens", usage.Completion);
        w.WriteNumber("total_tokens", usage.Total);
        w.WriteStartObject("prompt_tokens_details");
        w.WriteNumber("cached_tokens", usage.CacheRead);
        w.WriteEndObject();
        w.WriteEndObject();
    }

    /// <summary>
    /// Anthropic's error body (<c>{"type":"error","error":{"type","message"}}</c>) in OpenAI's shape, which OpenAI's
    /// clients read; a body that is not one becomes a sentence with the status.
    /// </summary>
    public static byte[] ToError(ReadOnlySpan<byte> json, int status)
    {
        string type = "invalid_request_error", message = $"The model's provider refused the call with status {status}.";
        // Not JSON: the sentence above.
        using var document = AiJson.Parse(json);
        if (document?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("error", out var error))
        {
            type = String(error, "type") ?? type;
            message = String(error, "message") ?? message;
        }

        return AiJson.ErrorBody(type, null, message);
    }

    public static string? String(JsonElement obj, string name) =>
        obj.ValueKind == JsonValueKind.Object && obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;
}
