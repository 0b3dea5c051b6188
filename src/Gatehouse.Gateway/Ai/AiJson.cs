using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Ai;

/// <summary>The OpenAI-format bodies the gateway writes itself, and the reading of usage from providers' bodies.</summary>
internal static class AiJson
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary><c>{"object":"list","data":[{"id":ALIAS,"object":"model",…}]}</c>.</summary>
    public static byte[] ModelList(IEnumerable<string> aliases)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("object", "list");
            json.WriteStartArray("data");
            foreach (var alias in aliases)
            {
                WriteModel(json, alias, anthropic: false);
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// The same aliases in the shape of Anthropic's models list, for its SDKs (which send <c>anthropic-version</c>):
    /// <c>{"data":[{"type":"model","id":ALIAS,"display_name":ALIAS,"created_at":…}],"has_more":false,"first_id","last_id"}</c>.
    /// </summary>
    public static byte[] AnthropicModelList(IReadOnlyList<string> aliases)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartArray("data");
            foreach (var alias in aliases)
            {
                WriteModel(json, alias, anthropic: true);
            }

            json.WriteEndArray();
            json.WriteBoolean("has_more", false);
            WriteStringOrNull(json, "first_id", aliases.Count > 0 ? aliases[0] : null);
            WriteStringOrNull(json, "last_id", aliases.Count > 0 ? aliases[^1] : null);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>One alias as <c>GET …/models/{id}</c> answers it, in OpenAI's shape or Anthropic's.</summary>
    public static byte[] Model(string alias, bool anthropic)
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            WriteModel(json, alias, anthropic);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteModel(Utf8JsonWriter json, string alias, bool anthropic)
    {
        json.WriteStartObject();
        if (anthropic)
        {
            json.WriteString("type", "model");
            json.WriteString("id", alias);
            json.WriteString("display_name", alias);
            json.WriteString("created_at", "1970-01-01T00:00:00Z");
        }
        else
        {
            json.WriteString("id", alias);
            json.WriteString("object", "model");
            json.WriteNumber("created", 0);
            json.WriteString("owned_by", "gatehouse");
        }

        json.WriteEndObject();
    }

    private static void WriteStringOrNull(Utf8JsonWriter json, string name, string? value)
    {
        if (value is null)
        {
            json.WriteNull(name);
        }
        else
        {
            json.WriteString(name, value);
        }
    }

    /// <summary>
    /// An error in OpenAI's shape (<c>{"error":{"message","type","code"}}</c>), which OpenAI's clients read; the
    /// gateway's own access errors on these routes stay problem+json (docs/ai.md).
    /// </summary>
    public static Task WriteErrorAsync(HttpContext context, int status, string type, string code, string message, string requestId, string? retryAfter = null) =>
        StartError(context, status, requestId, retryAfter) ? context.Response.Body.WriteAsync(ErrorBody(type, code, message)).AsTask() : Task.CompletedTask;

    /// <summary>
    /// An error for a client of Anthropic's Messages API, in its shape (<c>{"type":"error","error":{"type","message"}}</c>),
    /// the error type taken from the status as Anthropic's API uses them.
    /// </summary>
    public static Task WriteAnthropicErrorAsync(HttpContext context, int status, string message, string requestId, string? retryAfter = null)
    {
        if (!StartError(context, status, requestId, retryAfter))
        {
            return Task.CompletedTask;
        }

        return context.Response.Body.WriteAsync(AnthropicErrorBody(AnthropicErrorType(status), message)).AsTask();
    }

    /// <summary>The error type Anthropic's API gives a status.</summary>
    public static string AnthropicErrorType(int status) => status switch
    {
        400 or 422 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        413 => "request_too_large",
        429 => "rate_limit_error",
        529 => "overloaded_error",
        _ => "api_error",
    };

    // An error's status and headers; false (and the response aborted) when the response has already started.
    private static bool StartError(HttpContext context, int status, string requestId, string? retryAfter)
    {
        var response = context.Response;
        if (response.HasStarted)
        {
            context.Abort();
            return false;
        }

        response.Clear();
        response.StatusCode = status;
        response.ContentType = "application/json";
        response.Headers["X-Request-Id"] = requestId;
        if (retryAfter is not null)
        {
            response.Headers.RetryAfter = retryAfter;
        }

        return true;
    }

    public static byte[] AnthropicErrorBody(string type, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteString("type", "error");
            json.WriteStartObject("error");
            json.WriteString("type", type);
            json.WriteString("message", message);
            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    public static byte[] ErrorBody(string type, string? code, string message)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer, WriterOptions))
        {
            json.WriteStartObject();
            json.WriteStartObject("error");
            json.WriteString("message", message);
            json.WriteString("type", type);
            json.WriteNull("param");
            if (code is null)
            {
                json.WriteNull("code");
            }
            else
            {
                json.WriteString("code", code);
            }

            json.WriteEndObject();
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A provider's JSON (a whole answer, or one event's data) as a pooled document for the caller to dispose; null when it
    /// is not JSON. The translations read their answers this way rather than with a hand-rolled reader: each is read
    /// once, and clarity matters more there than the last allocation.
    /// </summary>
    public static JsonDocument? Parse(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            return JsonDocument.ParseValue(ref reader);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// One <c>chat.completion.chunk</c> event's data, for the translations that read chat chunks: the chunk object (the
    /// caller disposes <paramref name="document"/>), or <see cref="StreamStep.Malformed"/> when it is not a JSON object,
    /// or <see cref="StreamStep.ProviderError"/> with <paramref name="error"/> when the provider sent an error instead.
    /// </summary>
    public static StreamStep? ReadChunk(ReadOnlySpan<byte> data, out JsonDocument? document, out string? error)
    {
        error = null;
        document = Parse(data);
        if (document is null || document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document?.Dispose();
            document = null;
            return StreamStep.Malformed;
        }

        if (document.RootElement.TryGetProperty("error", out var failure))
        {
            var kind = failure.ValueKind == JsonValueKind.Object ? Anthropic.AnthropicResponse.String(failure, "type") ?? Anthropic.AnthropicResponse.String(failure, "code") : null;
            error = $"The provider reported an error mid-stream ({kind ?? "unknown"}); the stream is ended.";
            document.Dispose();
            document = null;
            return StreamStep.ProviderError;
        }

        return null;
    }

    /// <summary>The body sent to one provider model: the client's, with <c>model</c> replaced.</summary>
    public static byte[] ForProvider(JsonObject request, string model)
    {
        request["model"] = model;
        return JsonSerializer.SerializeToUtf8Bytes(request);
    }

    /// <summary>
    /// Reads a provider's JSON body (a whole response, or one stream chunk): its top-level <c>usage</c> if any, and the
    /// text of what the provider bills as completion (for an estimate when usage never comes): <c>content</c> and
    /// <c>refusal</c> strings, tool calls' <c>arguments</c>, and the reasoning that compatible servers send
    /// (<c>reasoning_content</c>, <c>reasoning</c>). False when it is not JSON.
    /// </summary>
    public static bool TryScan(ReadOnlySpan<byte> json, ref AiUsage? usage, StringBuilder? content)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        try
        {
            string? property = null;
            while (reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.PropertyName:
                        property = null;
                        if (reader.CurrentDepth == 1 && reader.ValueTextEquals("usage"u8))
                        {
                            reader.Read();
                            if (reader.TokenType == JsonTokenType.StartObject)
                            {
                                usage = ReadUsage(ref reader);
                            }
                            else
                            {
                                reader.Skip();
                            }
                        }
                        else if (content is not null && (reader.ValueTextEquals("content"u8) || reader.ValueTextEquals("arguments"u8)
                            || reader.ValueTextEquals("reasoning_content"u8) || reader.ValueTextEquals("reasoning"u8) || reader.ValueTextEquals("refusal"u8)))
                        {
                            property = "content";
                        }

                        break;
                    case JsonTokenType.String when property is not null:
                        content!.Append(reader.GetString());
                        property = null;
                        break;
                    default:
                        property = null;
                        break;
                }
            }

            return reader.BytesConsumed == json.Length || json[(int)reader.BytesConsumed..].Trim(" \t\r\n"u8).IsEmpty;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// A usage object's counts, in chat completions' names, the Responses API's or Anthropic's (whose prompt is its
    /// input plus the tokens written to and read from the prompt cache); the reader ends at the object's end.
    /// </summary>
    internal static AiUsage ReadUsage(ref Utf8JsonReader reader)
    {
        long prompt = 0, completion = 0, total = 0, cacheWritten = 0, cacheRead = 0, cached = 0;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName || reader.CurrentDepth != depth + 1)
            {
                continue;
            }

            var name = reader.ValueSpan;
            ref var target = ref prompt;
            var known = true;
            // Chat completions' names, and the Responses API's (input_tokens, output_tokens).
            if (name.SequenceEqual("prompt_tokens"u8) || name.SequenceEqual("input_tokens"u8))
            {
                target = ref prompt;
            }
            else if (name.SequenceEqual("completion_tokens"u8) || name.SequenceEqual("output_tokens"u8))
            {
                target = ref completion;
            }
            else if (name.SequenceEqual("total_tokens"u8))
            {
                target = ref total;
            }
            else if (name.SequenceEqual("cache_creation_input_tokens"u8))
            {
                target = ref cacheWritten;
            }
            else if (name.SequenceEqual("cache_read_input_tokens"u8))
            {
                target = ref cacheRead;
            }
            else if (name.SequenceEqual("prompt_tokens_details"u8) || name.SequenceEqual("input_tokens_details"u8))
            {
                // OpenAI's: the prompt's tokens read from the cache, within prompt_tokens (input_tokens in the Responses API).
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    cached = ReadCached(ref reader);
                }
                else
                {
                    reader.Skip();
                }

                continue;
            }
            else
            {
                known = false;
            }

            reader.Read();
            if (known && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value >= 0)
            {
                target = value;
            }
            else
            {
                reader.Skip();
            }
        }

        // Anthropic reports its cache apart from input_tokens; OpenAI's cached tokens are within prompt_tokens.
        return AiUsage.From(prompt + cacheWritten + cacheRead, completion, total, estimated: false, cacheRead + cached, cacheWritten);
    }

    // "cached_tokens" of a details object the reader is at the start of; the reader ends at the object's end.
    private static long ReadCached(ref Utf8JsonReader reader)
    {
        long cached = 0;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == depth + 1)
            {
                var isCached = reader.ValueTextEquals("cached_tokens"u8);
                reader.Read();
                if (isCached && reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) && value >= 0)
                {
                    cached = value;
                }
                else
                {
                    reader.Skip();
                }
            }
        }

        return cached;
    }
}
