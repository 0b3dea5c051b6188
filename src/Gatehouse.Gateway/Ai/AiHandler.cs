using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Access;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Serves the OpenAI-compatible API of a route bound to an <c>ai</c> service, after the route's access steps:
/// <c>GET …/models</c>, <c>POST …/chat/completions</c> and <c>POST …/responses</c> (whole or streamed) and
/// <c>POST …/embeddings</c>. A call goes to the alias's provider models in priority order and moves on while nothing
/// has been sent to the client.
/// </summary>
internal sealed partial class AiHandler(ILoggerFactory loggers, TokenLimiter tokens, TimeProvider time, Observability.GatewayTelemetry telemetry, AiCooldowns cooldowns, AiResponses kept)
{
    private readonly ILogger _logger = loggers.CreateLogger("Gatehouse.Ai");

    public Task HandleAsync(HttpContext context, AiServiceModel ai, string? operation, string requestId, Admission admission)
    {
        if (operation is not null && ai.Prompts.TryGetValue(operation, out var prompt))
        {
            return PromptAsync(context, ai, prompt, requestId, admission);
        }

        var request = context.Request;
        var path = (request.Path.Value ?? "").TrimEnd('/');
        var reading = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
        // Anthropic's SDKs send anthropic-version with every call, and read their own shapes of models and errors.
        var anthropic = request.Headers.ContainsKey("anthropic-version");
        if (reading && path.EndsWith("/models", StringComparison.Ordinal))
        {
            return WriteJsonAsync(context, ai.ModelListFor(admission.Plan?.Models, anthropic), requestId);
        }

        if (reading && path.LastIndexOf("/models/", StringComparison.Ordinal) is var at and >= 0 && path.IndexOf('/', at + 8) < 0)
        {
            // One alias, if the caller's plan may call it; else the same 404 as an alias that does not exist.
            var id = path[(at + 8)..];
            return ai.Aliases.ContainsKey(id) && AiServiceModel.Allows(admission.Plan?.Models, id)
                ? WriteJsonAsync(context, AiJson.Model(id, anthropic), requestId)
                : ErrorAsync(context, anthropic, StatusCodes.Status404NotFound, "invalid_request_error", "model_not_found",
                    $"The model '{id}' is not served here (GET …/models lists those that are).", requestId);
        }

        if (ConversationPath(path) is { } conversation)
        {
            return ai.Responses is not null
                ? ConversationsAsync(context, ai, conversation, requestId, admission)
                : AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "unknown_url",
                    $"{request.Method} {path} is not served here: conversations are kept only by a service that keeps responses ('responses' in the ai service's config).", requestId);
        }

        if (HttpMethods.IsPost(request.Method))
        {
            if (path.EndsWith("/chat/completions", StringComparison.Ordinal))
            {
                return CallAsync(context, ai, requestId, admission, AiOperation.Chat);
            }

            if (path.EndsWith("/embeddings", StringComparison.Ordinal))
            {
                return CallAsync(context, ai, requestId, admission, AiOperation.Embeddings);
            }

            if (path.EndsWith("/responses", StringComparison.Ordinal))
            {
                return CallAsync(context, ai, requestId, admission, AiOperation.Responses);
            }

            if (path.EndsWith("/messages", StringComparison.Ordinal))
            {
                return CallAsync(context, ai, requestId, admission, AiOperation.Messages);
            }

            if (path.EndsWith("/messages/count_tokens", StringComparison.Ordinal))
            {
                return CallAsync(context, ai, requestId, admission, AiOperation.CountTokens);
            }
        }

        if (path.Contains("/responses/", StringComparison.Ordinal))
        {
            if (ai.Responses is not null)
            {
                return KeptResponseAsync(context, ai, path, requestId, admission);
            }

            return AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "response_not_stored",
                $"{request.Method} {path} is not served here: the gateway sends every Responses call with store=false, so no response is kept to "
                + "retrieve, cancel, delete or list; send the whole conversation in 'input' of POST …/responses.", requestId);
        }

        return AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "unknown_url",
            $"{request.Method} {path} is not served here; use POST …/chat/completions, POST …/responses, POST …/messages, POST …/embeddings or GET …/models.", requestId);
    }

    private static Task WriteJsonAsync(HttpContext context, ReadOnlyMemory<byte> json, string requestId)
    {
        var response = context.Response;
        response.ContentType = "application/json";
        response.Headers["X-Request-Id"] = requestId;
        response.ContentLength = json.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(json).AsTask();
    }

    // The request's body in a pooled buffer (returned by the caller), grown as it arrives; the body limit is Kestrel's.
    private static async Task<(byte[] Buffer, int Length)> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        var buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(request.ContentLength is > 0 and <= 1 << 20 ? (int)request.ContentLength.Value + 1 : 16 * 1024);
        var length = 0;
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer.AsMemory(length), ct).ConfigureAwait(false)) > 0)
            {
                length += read;
                if (length == buffer.Length)
                {
                    var larger = System.Buffers.ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }
            }

            return (buffer, length);
        }
        catch
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    // An error in the shape of the API called: Anthropic's for its Messages API, else OpenAI's.
    private static Task ErrorAsync(HttpContext context, bool anthropic, int status, string type, string code, string message, string requestId, string? retryAfter = null) =>
        anthropic
            ? AiJson.WriteAnthropicErrorAsync(context, status, message, requestId, retryAfter)
            : AiJson.WriteErrorAsync(context, status, type, code, message, requestId, retryAfter);
}
