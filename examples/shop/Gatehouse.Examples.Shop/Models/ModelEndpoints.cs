using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Examples.Shop.Models;

/// <summary>
/// A tiny OpenAI-compatible model server for the demo: <c>POST /v1/chat/completions</c> (whole or streamed as SSE, with
/// the usage chunk when asked), <c>POST /v1/responses</c> (whole or streamed as the Responses API's typed events),
/// Anthropic's <c>POST /v1/messages</c> (whole or streamed as its events) and <c>/v1/messages/count_tokens</c>,
/// <c>POST /v1/embeddings</c> (a vector made from the words' hashes, as floats or as base64), and <c>GET /v1/models</c>. Its answers are deterministic (it repeats the last user
/// message) and its usage numbers are real counts of what it read and wrote (one token per word), so the gateway's
/// token accounting can be checked against them. No network, no weights.
/// </summary>
internal static class ModelEndpoints
{
    /// <summary>The only model it serves.</summary>
    public const string ModelName = "demo-echo-1";

    public static void Map(IEndpointRouteBuilder routes)
    {
        routes.MapGet("/v1/models", () => TypedResults.Json(new { @object = "list", data = new[] { new { id = ModelName, @object = "model", created = 0, owned_by = "gatehouse-demo" } } }))
            .ExcludeFromDescription();
        routes.MapPost("/v1/chat/completions", ChatAsync).ExcludeFromDescription();
        routes.MapPost("/v1/responses", RespondAsync).ExcludeFromDescription();
        routes.MapPost("/v1/messages", MessagesAsync).ExcludeFromDescription();
        routes.MapPost("/v1/messages/count_tokens", MessagesAsync).ExcludeFromDescription();
        routes.MapPost("/v1/embeddings", EmbedAsync).ExcludeFromDescription();
    }

    // OpenAI's embeddings: 'input' as a text, texts, token ids or arrays of them. Each vector is the sum of one
    // pseudo-random unit vector per word (or token id), normalized, so equal inputs get equal vectors and inputs that
    // share words point the same way; 'dimensions' (default 8) sets its length. 'encoding_format: base64' (what the
    // official OpenAI clients ask for) gets the little-endian float32 bytes in base64.
    private static async Task EmbedAsync(HttpContext context)
    {
        var body = await ReadAsync(context);
        static string[]? Pieces(JsonNode? item) => item switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => Words(s),
            JsonValue v when v.TryGetValue<long>(out var token) => [token.ToString(System.Globalization.CultureInfo.InvariantCulture)],
            JsonArray tokens when tokens.All(t => t is JsonValue tv && tv.TryGetValue<long>(out _)) => tokens.Select(t => t!.ToString()).ToArray(),
            _ => null,
        };

        var input = body?["input"];
        var items = input switch
        {
            JsonValue => [Pieces(input)],
            JsonArray list when list.Count > 0 && list.All(i => i is JsonValue tv && tv.TryGetValue<long>(out _)) => [Pieces(list)],
            JsonArray list when list.Count > 0 => list.Select(Pieces).ToArray(),
            _ => [null],
        };
        var dimensions = body?["dimensions"] is JsonValue d && d.TryGetValue<int>(out var n) ? n : 8;
        if (items.Any(i => i is null) || dimensions is < 1 or > 4096)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            var message = dimensions is < 1 or > 4096 ? "'dimensions' must be from 1 to 4096." : "'input' must be a text, an array of texts, or token ids.";
            await context.Response.WriteAsJsonAsync(new { error = new { message, type = "invalid_request_error", code = "invalid_body" } });
            return;
        }

        var base64 = body?["encoding_format"]?.GetValue<string>() == "base64";
        var data = items.Select((words, index) =>
        {
            var vector = new float[dimensions];
            foreach (var word in words!)
            {
                var random = new Random(BitConverter.ToInt32(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(word))));
                for (var i = 0; i < vector.Length; i++)
                {
                    vector[i] += (float)(random.NextDouble() * 2 - 1);
                }
            }

            var length = MathF.Sqrt(vector.Sum(x => x * x));
            for (var i = 0; i < vector.Length && length > 0; i++)
            {
                vector[i] /= length;
            }

            object embedding = base64 ? Convert.ToBase64String(System.Runtime.InteropServices.MemoryMarshal.AsBytes(vector.AsSpan())) : vector;
            return new { @object = "embedding", index, embedding };
        }).ToArray();
        var tokens = items.Sum(words => words!.Length);
        var model = body!["model"]?.GetValue<string>() ?? ModelName;
        await context.Response.WriteAsJsonAsync(new { @object = "list", data, model, usage = new { prompt_tokens = tokens, total_tokens = tokens } });
    }

    // Anthropic's Messages API: 'system' and 'messages' (text or text blocks); a Message, or its event stream.
    private static async Task MessagesAsync(HttpContext context)
    {
        var body = await ReadAsync(context);
        if (body?["messages"] is not JsonArray messages)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { type = "error", error = new { type = "invalid_request_error", message = "messages: Field required" } });
            return;
        }

        static string Text(JsonNode? content) => content switch
        {
            JsonValue v when v.TryGetValue<string>(out var s) => s,
            JsonArray blocks => string.Join(' ', blocks.OfType<JsonObject>().Select(b => b["text"]?.GetValue<string>() ?? "")),
            _ => "",
        };

        var turns = messages.OfType<JsonObject>().Select(m => (Role: m["role"]?.GetValue<string>() ?? "", Text: Text(m["content"]))).ToArray();
        var prompt = (body["system"] is null ? 0 : Words(Text(body["system"])).Length + 3) + turns.Sum(t => Words(t.Text).Length + 3);
        if (context.Request.Path.Value!.EndsWith("/count_tokens", StringComparison.Ordinal))
        {
            await context.Response.WriteAsJsonAsync(new { input_tokens = prompt });
            return;
        }

        var last = turns.LastOrDefault(t => t.Role == "user").Text ?? "";
        var answer = Words("You said: " + (last.Length == 0 ? "nothing" : last));
        var stop = "end_turn";
        if (body["max_tokens"] is JsonValue max && max.TryGetValue<int>(out var limit) && limit > 0 && limit < answer.Length)
        {
            answer = answer[..limit];
            stop = "max_tokens";
        }

        var model = body["model"]?.GetValue<string>() ?? ModelName;
        var text = string.Join(' ', answer);
        var id = "msg_demo_" + (uint)text.GetHashCode(StringComparison.Ordinal);
        if (body["stream"] is not JsonValue stream || !stream.TryGetValue<bool>(out var streamed) || !streamed)
        {
            await context.Response.WriteAsJsonAsync(new
            {
                id, type = "message", role = "assistant", model, content = new[] { new { type = "text", text } }, stop_reason = stop, stop_sequence = (string?)null,
                usage = new { input_tokens = prompt, output_tokens = answer.Length },
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        async Task Event(string type, object data)
        {
            await context.Response.WriteAsync("event: " + type + "\ndata: " + JsonSerializer.Serialize(data) + "\n\n", Encoding.UTF8, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }

        await Event("message_start", new { type = "message_start", message = new { id, type = "message", role = "assistant", model, content = Array.Empty<object>(), stop_reason = (string?)null, usage = new { input_tokens = prompt, output_tokens = 1 } } });
        await Event("content_block_start", new { type = "content_block_start", index = 0, content_block = new { type = "text", text = "" } });
        for (var i = 0; i < answer.Length; i++)
        {
            await Event("content_block_delta", new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text = (i == 0 ? "" : " ") + answer[i] } });
        }

        await Event("content_block_stop", new { type = "content_block_stop", index = 0 });
        await Event("message_delta", new { type = "message_delta", delta = new { stop_reason = stop, stop_sequence = (string?)null }, usage = new { output_tokens = answer.Length } });
        await Event("message_stop", new { type = "message_stop" });
    }

    // The Responses API: 'input' as text or as message items; the answer as a response object, or as its events.
    private static async Task RespondAsync(HttpContext context)
    {
        var body = await ReadAsync(context);

        var input = body?["input"];
        var texts = input is JsonValue single && single.TryGetValue<string>(out var only)
            ? [("user", only)]
            : (input as JsonArray)?.OfType<JsonObject>().Select(item => (item["role"]?.GetValue<string>() ?? "", item["content"] switch
            {
                JsonValue v when v.TryGetValue<string>(out var s) => s,
                JsonArray parts => string.Join(' ', parts.OfType<JsonObject>().Select(p => p["text"]?.GetValue<string>() ?? "")),
                _ => "",
            })).ToArray();
        if (texts is null)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "'input' is required.", type = "invalid_request_error", code = "invalid_body" } });
            return;
        }

        var model = body!["model"]?.GetValue<string>() ?? ModelName;
        var instructions = body["instructions"] is JsonValue iv && iv.TryGetValue<string>(out var ins) ? Words(ins).Length + 3 : 0;
        var prompt = instructions + texts.Sum(t => Words(t.Item2).Length + 3);
        var last = texts.LastOrDefault(t => t.Item1 == "user").Item2 ?? "";
        var answer = Words("You said: " + (last.Length == 0 ? "nothing" : last));
        if (body["max_output_tokens"] is JsonValue max && max.TryGetValue<int>(out var limit) && limit > 0 && limit < answer.Length)
        {
            answer = answer[..limit];
        }

        var text = string.Join(' ', answer);
        var id = "resp_demo_" + (uint)text.GetHashCode(StringComparison.Ordinal);
        var usage = new { input_tokens = prompt, input_tokens_details = new { cached_tokens = 0 }, output_tokens = answer.Length, output_tokens_details = new { reasoning_tokens = 0 }, total_tokens = prompt + answer.Length };
        object Message(string status, string content) => new { type = "message", id = "msg_" + id, status, role = "assistant", content = new[] { new { type = "output_text", text = content, annotations = Array.Empty<object>() } } };
        object Response(string status, object[] output, object? used) => new { id, @object = "response", created_at = 0, status, model, output, usage = used };
        if (body["stream"] is not JsonValue stream || !stream.TryGetValue<bool>(out var streamed) || !streamed)
        {
            await context.Response.WriteAsJsonAsync(Response("completed", [Message("completed", text)], usage));
            return;
        }

        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var sequence = 0;
        async Task Event(string type, object fields)
        {
            var json = JsonSerializer.SerializeToNode(fields)!.AsObject();
            json.Insert(0, "type", type);
            json["sequence_number"] = sequence++;
            await context.Response.WriteAsync("event: " + type + "\ndata: " + json.ToJsonString() + "\n\n", Encoding.UTF8, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
        }

        await Event("response.created", new { response = Response("in_progress", [], null) });
        await Event("response.output_item.added", new { output_index = 0, item = new { type = "message", id = "msg_" + id, status = "in_progress", role = "assistant", content = Array.Empty<object>() } });
        for (var i = 0; i < answer.Length; i++)
        {
            await Event("response.output_text.delta", new { item_id = "msg_" + id, output_index = 0, content_index = 0, delta = (i == 0 ? "" : " ") + answer[i], logprobs = Array.Empty<object>() });
        }

        await Event("response.output_text.done", new { item_id = "msg_" + id, output_index = 0, content_index = 0, text, logprobs = Array.Empty<object>() });
        await Event("response.output_item.done", new { output_index = 0, item = Message("completed", text) });
        await Event("response.completed", new { response = Response("completed", [Message("completed", text)], usage) });
    }

    private static async Task ChatAsync(HttpContext context)
    {
        var body = await ReadAsync(context);

        if (body?["messages"] is not JsonArray messages)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.Response.WriteAsJsonAsync(new { error = new { message = "'messages' is required.", type = "invalid_request_error", code = "invalid_body" } });
            return;
        }

        var model = body["model"]?.GetValue<string>() ?? ModelName;
        var prompt = 0;
        var last = "";
        foreach (var message in messages.OfType<JsonObject>())
        {
            var text = message["content"] is JsonValue v && v.TryGetValue<string>(out var s) ? s : "";
            prompt += Words(text).Length + 3; // every message costs its role and separators, as with real tokenizers
            if (message["role"]?.GetValue<string>() == "user")
            {
                last = text;
            }
        }

        var answer = Words("You said: " + (last.Length == 0 ? "nothing" : last));
        if (body["max_tokens"] is JsonValue max && max.TryGetValue<int>(out var limit) && limit > 0 && limit < answer.Length)
        {
            answer = answer[..limit];
        }

        var finish = answer.Length < Words("You said: " + last).Length ? "length" : "stop";
        var usage = new { prompt_tokens = prompt, completion_tokens = answer.Length, total_tokens = prompt + answer.Length };
        var id = "chatcmpl-demo-" + (uint)string.Join(' ', answer).GetHashCode(StringComparison.Ordinal);
        if (body["stream"] is JsonValue stream && stream.TryGetValue<bool>(out var streamed) && streamed)
        {
            var includeUsage = body["stream_options"]?["include_usage"] is JsonValue iu && iu.TryGetValue<bool>(out var u) && u;
            context.Response.ContentType = "text/event-stream";
            context.Response.Headers.CacheControl = "no-cache";
            for (var i = 0; i < answer.Length; i++)
            {
                var delta = i == 0 ? (object)new { role = "assistant", content = answer[i] } : new { content = " " + answer[i] };
                await SendAsync(context, new { id, @object = "chat.completion.chunk", created = 0, model, choices = new[] { new { index = 0, delta, finish_reason = (string?)null } } });
            }

            await SendAsync(context, new { id, @object = "chat.completion.chunk", created = 0, model, choices = new[] { new { index = 0, delta = new { }, finish_reason = finish } } });
            if (includeUsage)
            {
                await SendAsync(context, new { id, @object = "chat.completion.chunk", created = 0, model, choices = Array.Empty<object>(), usage });
            }

            await context.Response.WriteAsync("data: [DONE]\n\n", context.RequestAborted);
            return;
        }

        await context.Response.WriteAsJsonAsync(new
        {
            id,
            @object = "chat.completion",
            created = 0,
            model,
            choices = new[] { new { index = 0, message = new { role = "assistant", content = string.Join(' ', answer) }, finish_reason = finish } },
            usage,
        });
    }

    private static async Task SendAsync(HttpContext context, object chunk)
    {
        var json = JsonSerializer.Serialize(chunk);
        await context.Response.WriteAsync("data: " + json + "\n\n", Encoding.UTF8, context.RequestAborted);
        await context.Response.Body.FlushAsync(context.RequestAborted);
    }

    private static async Task<JsonObject?> ReadAsync(HttpContext context)
    {
        try
        {
            return await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string[] Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
