using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Gatehouse.Examples.Shop.Models;

/// <summary>
/// A tiny OpenAI-compatible model server for the demo: <c>POST /v1/chat/completions</c> (whole or streamed as SSE, with
/// the usage chunk when asked) and <c>GET /v1/models</c>. Its answers are deterministic (it repeats the last user
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
    }

    private static async Task ChatAsync(HttpContext context)
    {
        JsonObject? body;
        try
        {
            body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject;
        }
        catch (JsonException)
        {
            body = null;
        }

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

    private static string[] Words(string text) => text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
}
