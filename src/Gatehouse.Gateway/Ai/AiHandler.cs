using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Ai.Anthropic;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
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
    /// <summary>A whole (not streamed) provider response larger than this is refused rather than buffered.</summary>
    private const int MaxResponse = 32 * 1024 * 1024;

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

    private async Task CallAsync(HttpContext context, AiServiceModel ai, string requestId, Admission admission, AiOperation operation)
    {
        JsonObject? body;
        bool mayRefer;
        byte[]? raw = null;
        try
        {
            // Read whole first, so that the check for provider-side references (ProviderState) can skip bodies whose bytes
            // cannot hold one without walking, and so materializing, every node of a long conversation.
            int length;
            (raw, length) = await ReadBodyAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
            mayRefer = ProviderState.MayRefer(raw.AsSpan(0, length));
            body = JsonNode.Parse(raw.AsSpan(0, length)) as JsonObject;
        }
        catch (JsonException)
        {
            (body, mayRefer) = (null, false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Problems.ProblemWriter.WriteBodyTooLargeAsync(context, requestId).ConfigureAwait(false);
            return;
        }
        finally
        {
            if (raw is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(raw);
            }
        }

        if (body is null || body["model"] is not JsonValue modelValue || !modelValue.TryGetValue<string>(out var alias))
        {
            await ErrorAsync(context, operation.IsAnthropic(), StatusCodes.Status400BadRequest, "invalid_request_error", "invalid_body",
                "The body must be a JSON object with 'model' (an alias that GET /v1/models lists).", requestId).ConfigureAwait(false);
            return;
        }

        var allowed = admission.Plan?.Models;
        if (!ai.Aliases.TryGetValue(alias, out var aliasModel))
        {
            await ErrorAsync(context, operation.IsAnthropic(), StatusCodes.Status404NotFound, "invalid_request_error", "model_not_found",
                $"The model '{alias}' is not served here; use one of: {string.Join(", ", ai.AliasNamesFor(allowed))} (GET /v1/models lists them).", requestId).ConfigureAwait(false);
            return;
        }

        if (!AiServiceModel.Allows(allowed, alias))
        {
            var others = ai.AliasNamesFor(allowed).ToArray();
            await ErrorAsync(context, operation.IsAnthropic(), StatusCodes.Status403Forbidden, "permission_error", "model_not_allowed",
                $"Plan '{admission.Plan!.Name}' does not include model '{alias}'; "
                + (others.Length == 0 ? "it includes no model of this service." : $"use one of: {string.Join(", ", others)} (GET /v1/models lists them)."), requestId).ConfigureAwait(false);
            return;
        }

        // Responses kept by the gateway (ai.responses): the client's store (OpenAI's default is true) is read before the
        // provider's is set to false.
        var keeps = operation == AiOperation.Responses && ai.Responses is not null;
        var storeAsked = keeps && (body["store"] is not JsonValue storeValue || !storeValue.TryGetValue<bool>(out var storeTrue) || storeTrue);
        if (ProviderState.Refuse(body, operation, mayRefer, keeps) is { } refused)
        {
            await ErrorAsync(context, operation.IsAnthropic(), StatusCodes.Status400BadRequest, "invalid_request_error", refused.Code, refused.Message, requestId).ConfigureAwait(false);
            return;
        }

        if (operation == AiOperation.Chat && body["n"] is { } choices
            && !(choices is JsonValue nValue && nValue.TryGetValue<int>(out var n) && n is >= 1 and <= TokenLimiter.MaxChoices))
        {
            // Refused here, as OpenAI refuses it: admission reserves a completion for each choice, so n must be bounded.
            await ErrorAsync(context, false, StatusCodes.Status400BadRequest, "invalid_request_error", "invalid_value",
                $"'n' must be a whole number from 1 to {TokenLimiter.MaxChoices} (the choices to generate); send at most {TokenLimiter.MaxChoices}, or several calls.", requestId).ConfigureAwait(false);
            return;
        }

        var keeping = keeps ? await PlanKeepingAsync(context, ai, body, storeAsked, admission, requestId).ConfigureAwait(false) : KeepPlan.None;
        if (keeping.Answered)
        {
            return;
        }

        string? beta = null;
        if (operation.IsAnthropic() && context.Request.Headers["anthropic-beta"] is { Count: > 0 } betas)
        {
            // The one client header that reaches a provider: Anthropic's features are turned on by it, and Claude Code and
            // the SDKs send it. Only a list of names passes, so nothing else can ride along.
            beta = string.Join(',', betas.SelectMany(value => (value ?? "").Split(',')).Select(name => name.Trim()));
            if (!BetaNames().IsMatch(beta))
            {
                await ErrorAsync(context, operation.IsAnthropic(), StatusCodes.Status400BadRequest, "invalid_request_error", "invalid_header",
                    "The anthropic-beta header must be a comma-separated list of beta names (letters, digits, '-' and '_'), at most 16 of them.", requestId).ConfigureAwait(false);
                return;
            }
        }

        var stream = operation is not (AiOperation.Embeddings or AiOperation.CountTokens) && body["stream"] is JsonValue s && s.TryGetValue<bool>(out var on) && on;
        var clientAskedUsage = false;
        if (stream && operation == AiOperation.Chat)
        {
            // Providers send usage on a stream only when asked; the gateway always asks, and passes the usage chunk on
            // only to clients that asked themselves (docs/ai.md).
            clientAskedUsage = body["stream_options"] is JsonObject options && options["include_usage"] is JsonValue iu && iu.TryGetValue<bool>(out var asked) && asked;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        // Counting tokens uses none: nothing is reserved, and nothing recorded.
        var (reservation, refusal) = operation == AiOperation.CountTokens ? (TokenReservation.None, null) : await tokens.AdmitAsync(admission, alias, body, operation, aliasModel.Targets).ConfigureAwait(false);
        if (refusal is { } limited)
        {
            await tokens.WriteRefusalAsync(context, limited, requestId, operation.IsAnthropic()).ConfigureAwait(false);
            return;
        }

        var call = new AiCall(context, requestId, reservation, clientAskedUsage);
        keeping.Arrange(call, admission, ai.Responses, _logger);

        try
        {
            await SendAsync(call, ai, alias, aliasModel.Order(Random.Shared), body, operation, stream, beta).ConfigureAwait(false);
        }
        finally
        {
            // Settled on every path: completed, refused by every provider, or left by the client (with what was counted
            // when it left).
            if (operation != AiOperation.CountTokens)
            {
                Settle(call, reservation, admission, alias);
            }
        }
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

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_-]{1,128}(,[A-Za-z0-9_-]{1,128}){0,15}$")]
    private static partial System.Text.RegularExpressions.Regex BetaNames();

    private async Task SendAsync(AiCall call, AiServiceModel ai, string alias, AiModelTarget[] targets, JsonObject body, AiOperation operation, bool stream, string? beta = null)
    {
        var context = call.Context;
        var aborted = context.RequestAborted;
        var failure = AttemptFailure.None;
        string? retryAfter = null;
        var created = time.GetUtcNow().ToUnixTimeSeconds();
        var tried = 0;
        var called = 0;
        string? untranslatable = null;
        string? spanErrorBefore = null; // why the attempt before failed, for the next one's record
        (string Provider, string Model, int Status) refused = default; // the last provider that refused the gateway itself
        foreach (var target in cooldowns.Order(ai.Name, targets))
        {
            if (aborted.IsCancellationRequested)
            {
                // The client left before any provider answered: no other is called for it.
                return;
            }

            var provider = target.Provider;
            if (!provider.Serves(operation))
            {
                continue;
            }

            tried++;
            var anthropic = provider.Type == AiProviderType.Anthropic;
            // A call to a provider that speaks another API than the client's is translated on the way there and back.
            var translation = (operation, anthropic) switch
            {
                (AiOperation.Chat, true) => Translation.ChatToAnthropic,
                (AiOperation.Responses, true) => Translation.ResponsesToAnthropic,
                (AiOperation.Responses, false) when !provider.ResponsesApi => Translation.ResponsesToChat,
                (AiOperation.Messages, false) => Translation.MessagesToChat,
                _ => Translation.None,
            };
            byte[] payload;
            if (translation != Translation.None)
            {
                string? invalid = null;
                var translated = translation switch
                {
                    Translation.ChatToAnthropic => AnthropicRequest.Build(body, target.Model, out invalid, provider.PromptCache),
                    // Through chat's form, which the translation to Anthropic's takes.
                    Translation.ResponsesToAnthropic => ResponsesRequest.ToChat(body, out invalid) is { } chat ? AnthropicRequest.Build(chat, target.Model, out invalid, provider.PromptCache) : null,
                    Translation.ResponsesToChat => ResponsesRequest.ToChat(body, out invalid) is { } chat ? ChatForProvider(chat, target.Model, stream) : null,
                    _ => MessagesRequest.ToChat(body, target.Model, provider.CompletionLimitName, out invalid),
                };
                if (translated is null)
                {
                    // The call has something this provider's API has no form for: another entry of the alias may speak
                    // the client's own API (a document for Anthropic's); if none can take it, the client is told why.
                    untranslatable ??= invalid;
                    continue;
                }

                payload = translated;
            }
            else
            {
                payload = AiJson.ForProvider(body, target.Model);
            }

            called++;
            // The access log and the usage record show the provider that answered, and why the ones before it did not.
            var observation = context.Features.Get<Observability.RequestObservation>();
            if (observation is not null)
            {
                if (observation.Upstream is not null && spanErrorBefore is not null)
                {
                    observation.Retries = (observation.Retries is null ? "" : observation.Retries + ",") + spanErrorBefore;
                }

                observation.Upstream = provider.BaseUrl;
            }

            // One span per attempt (OpenTelemetry's GenAI conventions), ended however the attempt ends.
            var span = Observability.GatewayTracing.StartModelCall(operation == AiOperation.Embeddings, target, alias, body);
            var (spanStatus, spanError) = (0, (string?)null);
            var request = provider.NewRequest(translation is Translation.MessagesToChat or Translation.ResponsesToChat ? AiOperation.Chat : operation, target.Model, payload, beta);
            // Linked to the client's request: a client that leaves ends the provider's call at once, wherever it is (waiting
            // for the headers, a whole body, or a stream's next event while the model thinks), so that the provider stops
            // generating (and billing) an answer no one reads and the reservation does not outlive the client.
            var timeout = CancellationTokenSource.CreateLinkedTokenSource(aborted);
            timeout.CancelAfter(provider.Timeout);
            HttpResponseMessage? response = null;
            try
            {
                try
                {
                    response = await provider.Invoker.SendAsync(request, timeout.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (aborted.IsCancellationRequested && e is OperationCanceledException or HttpRequestException)
                {
                    // Not the provider's failure (no cooldown, no fallback): the provider has the prompt, which is what is settled.
                    (call.Target, call.ClientLeft, spanError) = (target, true, "client_aborted");
                    return;
                }
                catch (OperationCanceledException)
                {
                    spanError = "timeout";
                    failure = AttemptFailure.Timeout;
                    LogFallback(_logger, ai.Name, alias, provider.Name, target.Model, "no response in time");
                    cooldowns.Failed(ai.Name, target, ai.Cooldown, null);
                    continue;
                }
                catch (HttpRequestException e)
                {
                    spanError = e.HttpRequestError.ToString();
                    failure = AttemptFailure.Unreachable;
                    LogFallback(_logger, ai.Name, alias, provider.Name, target.Model, e.HttpRequestError.ToString());
                    cooldowns.Failed(ai.Name, target, ai.Cooldown, null);
                    continue;
                }

                var status = (int)response.StatusCode;
                spanStatus = status;
                if (status == (int)HttpStatusCode.TooManyRequests || status >= 500)
                {
                    failure = status == 429 ? AttemptFailure.RateLimited : AttemptFailure.ServerError;
                    retryAfter = status == 429 && response.Headers.TryGetValues("Retry-After", out var values) ? values.FirstOrDefault() : retryAfter;
                    LogFallback(_logger, ai.Name, alias, provider.Name, target.Model, status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                    cooldowns.Failed(ai.Name, target, ai.Cooldown, status == 429 ? RetryAfter(response.Headers.RetryAfter) : null);
                    continue;
                }

                if (status is 401 or 403 or 404)
                {
                    // The gateway's credential or model map failing at this provider, not the client's request: the
                    // client cannot fix it, and OpenAI's 401 body repeats part of the provider key. So it counts as
                    // the provider failing, and its body is neither read nor logged nor passed on.
                    failure = status == 404 ? AttemptFailure.ModelNotFound : AttemptFailure.Refused;
                    refused = (provider.Name, target.Model, status);
                    LogProviderRefused(_logger, ai.Name, alias, provider.Name, target.Model, status,
                        status == 404 ? "the model or deployment is not found there; check the alias's 'model'" : "the gateway's credential for it is refused; check the provider's 'credential'");
                    cooldowns.Failed(ai.Name, target, ai.Cooldown, null);
                    continue;
                }

                call.Target = target;
                var outcome = stream && status < 300
                    ? await AiStreamRelay.RelayAsync(call, response, timeout, provider.Timeout, Dialect(call, operation, translation, created)).ConfigureAwait(false)
                    : await RelayWholeAsync(call, response, timeout, translation, created).ConfigureAwait(false);
                if (outcome == RelayOutcome.Left || (outcome != RelayOutcome.Done && aborted.IsCancellationRequested))
                {
                    // The provider's call ended with the client's, which says nothing of the provider: no cooldown, and no
                    // other provider is called for a client that is gone.
                    (call.ClientLeft, spanError) = (true, "client_aborted");
                    return;
                }

                if (outcome == RelayOutcome.Done)
                {
                    cooldowns.Succeeded(ai.Name, target);
                    return;
                }

                failure = outcome == RelayOutcome.TimedOut ? AttemptFailure.Timeout : AttemptFailure.ServerError;
                spanError = outcome == RelayOutcome.TimedOut ? "timeout" : "broken_response";
                LogFallback(_logger, ai.Name, alias, provider.Name, target.Model, outcome == RelayOutcome.TimedOut ? "no first event in time" : "a broken response");
                cooldowns.Failed(ai.Name, target, ai.Cooldown, null);
            }
            finally
            {
                // Disposing a response not read to its end aborts its connection (or its HTTP/2 stream): the provider
                // sees the call end.
                response?.Dispose();
                timeout.Dispose();
                request.Dispose();
                Observability.GatewayTracing.StopModelCall(span, spanStatus, spanError, call.Usage);
                spanErrorBefore = spanError ?? (spanStatus >= 400 ? spanStatus.ToString(System.Globalization.CultureInfo.InvariantCulture) : null);
            }
        }

        if (called == 0 && untranslatable is not null)
        {
            // The client's request, not the providers: 400.
            await ErrorAsync(context, operation.IsAnthropic(), StatusCodes.Status400BadRequest, "invalid_request_error", "unsupported_request", untranslatable, call.RequestId).ConfigureAwait(false);
            return;
        }

        if (tried == 0 && operation == AiOperation.CountTokens)
        {
            // No provider of the model counts tokens itself: the gateway's own count, the one admission reserves.
            await WriteJsonAsync(context, System.Text.Encoding.UTF8.GetBytes($$"""{"input_tokens":{{TokenLimiter.EstimatePrompt(body, AiOperation.Messages)}}}"""), call.RequestId).ConfigureAwait(false);
            return;
        }

        if (tried == 0)
        {
            // Only embeddings have providers that do not serve them (Anthropic's); every other API is translated.
            await ErrorAsync(context, operation.IsAnthropic(), StatusCodes.Status400BadRequest, "invalid_request_error", "unsupported_operation",
                $"No provider of model '{alias}' serves embeddings (Anthropic's do not); use a model whose providers do.", call.RequestId).ConfigureAwait(false);
            return;
        }

        var (code, type, message) = failure switch
        {
            AttemptFailure.RateLimited => (StatusCodes.Status429TooManyRequests, "rate_limit_exceeded", $"Every provider of model '{alias}' is rate-limiting the gateway; retry later."),
            AttemptFailure.Timeout => (StatusCodes.Status504GatewayTimeout, "provider_timeout", $"No provider of model '{alias}' answered in time; retry, or raise the providers' 'timeout'."),
            // The provider is named, never its key nor its body: this is the gateway's to fix, not the client's.
            AttemptFailure.Refused => (StatusCodes.Status502BadGateway, "provider_auth_failed",
                $"Provider '{refused.Provider}' refused the gateway's own credential ({refused.Status}) for model '{alias}', and no other provider could serve the call; your key was accepted, tell the gateway's operator."),
            AttemptFailure.ModelNotFound => (StatusCodes.Status502BadGateway, "provider_model_not_found",
                $"Provider '{refused.Provider}' has no model '{refused.Model}' (404), which the gateway serves model '{alias}' with, and no other provider could serve the call; tell the gateway's operator."),
            _ => (StatusCodes.Status502BadGateway, "provider_error", $"No provider of model '{alias}' could serve the call; retry later."),
        };
        await ErrorAsync(context, operation.IsAnthropic(), code, "api_error", type, message, call.RequestId, failure == AttemptFailure.RateLimited ? retryAfter : null).ConfigureAwait(false);
    }

    // How the provider's stream events become the client's, by the API called and the provider's.
    private static StreamDialect Dialect(AiCall call, AiOperation operation, Translation translation, long created) => (operation, translation) switch
    {
        (_, Translation.ChatToAnthropic) => new AnthropicStream(created),
        (_, Translation.ResponsesToAnthropic) => new ChainedDialect(new AnthropicStream(created, usageChunk: true), new ResponsesFromChatStream(call.KeepId ?? "resp_" + call.RequestId, created, call.KeepId is not null, call.KeepConversation)),
        (_, Translation.ResponsesToChat) => new ChainedDialect(OpenAiStreamDialect.Translated, new ResponsesFromChatStream(call.KeepId ?? "resp_" + call.RequestId, created, call.KeepId is not null, call.KeepConversation)),
        (_, Translation.MessagesToChat) => new MessagesStream(),
        (AiOperation.Messages, _) => new AnthropicPassThrough(),
        (AiOperation.Responses, _) => ResponsesStreamDialect.Instance,
        _ => OpenAiStreamDialect.Instance,
    };

    /// <summary>
    /// A whole JSON response (not streamed), or a provider's 4xx, passed to the client once read; translated first when
    /// the provider speaks the other API than the client (<paramref name="translation"/>). A client that leaves before
    /// it is read ends the reading (<paramref name="timeout"/> is linked to the client's request).
    /// </summary>
    private static async Task<RelayOutcome> RelayWholeAsync(AiCall call, HttpResponseMessage response, CancellationTokenSource timeout, Translation translation, long created)
    {
        var aborted = call.Context.RequestAborted;
        var read = await ReadWholeAsync(response, timeout.Token).ConfigureAwait(false);
        if (aborted.IsCancellationRequested)
        {
            return RelayOutcome.Left;
        }

        if (read.Bytes is not { } whole)
        {
            return read.Failed;
        }

        var success = response.IsSuccessStatusCode;
        if (Answer(call, response, whole, translation, created) is not { } bytes)
        {
            return RelayOutcome.Broken;
        }

        if (success && call.KeepId is { } keepId)
        {
            // Kept by the gateway: the client gets the gateway's id (the provider's names nothing it could use).
            bytes = AiResponses.Stamp(bytes, keepId, call.KeepConversation, out var output) ?? bytes;
            call.Final = bytes;
            await call.KeepAsync!(bytes, output).ConfigureAwait(false);
        }

        var http = call.Context.Response;
        http.StatusCode = (int)response.StatusCode;
        http.ContentType = "application/json";
        http.ContentLength = bytes.Length;
        http.Headers["X-Request-Id"] = call.RequestId;
        try
        {
            await http.Body.WriteAsync(bytes, aborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client left; the usage still counts.
        }

        return RelayOutcome.Done;
    }

    // A whole response's body, or why there is none (a timeout, a broken or oversized body).
    private static async Task<(byte[]? Bytes, RelayOutcome Failed)> ReadWholeAsync(HttpResponseMessage response, CancellationToken deadline)
    {
        try
        {
            var content = await response.Content.ReadAsStreamAsync(deadline).ConfigureAwait(false);
            using var buffer = new MemoryStream();
            var chunk = new byte[16 * 1024];
            int read;
            while ((read = await content.ReadAsync(chunk, deadline).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxResponse)
                {
                    return (null, RelayOutcome.Broken);
                }

                buffer.Write(chunk, 0, read);
            }

            return (buffer.ToArray(), RelayOutcome.Done);
        }
        catch (OperationCanceledException)
        {
            return (null, RelayOutcome.TimedOut);
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return (null, RelayOutcome.Broken);
        }
    }

    /// <summary>
    /// A whole response's body as the client gets it, translated where needed, with the call's usage recorded when it is a
    /// success; null when a success is broken (not the API's JSON).
    /// </summary>
    private static byte[]? Answer(AiCall call, HttpResponseMessage response, byte[] bytes, Translation translation, long created)
    {
        var success = response.IsSuccessStatusCode;
        AiUsage? usage = null;
        var text = success ? call.CompletionText : null;
        var responseId = call.KeepId ?? "resp_" + call.RequestId;
        if (translation == Translation.ResponsesToChat)
        {
            // A chat completion's usage is read as any is; its error body already has the Responses API's shape.
            if (!AiJson.TryScan(bytes, ref usage, text) && success)
            {
                return null;
            }

            if (success)
            {
                if (ResponsesAnswer.FromCompletion(bytes, responseId, created) is not { } answer)
                {
                    return null;
                }

                bytes = answer;
            }
        }
        else if (translation != Translation.None)
        {
            var status = (int)response.StatusCode;
            var translated = (translation, success) switch
            {
                // The Responses API's errors have chat completions' shape.
                (Translation.ChatToAnthropic or Translation.ResponsesToAnthropic, false) => AnthropicResponse.ToError(bytes, status),
                (Translation.ChatToAnthropic, true) => AnthropicResponse.ToCompletion(bytes, created, text, out usage),
                (Translation.ResponsesToAnthropic, true) => AnthropicResponse.ToCompletion(bytes, created, text, out usage) is { } completion
                    ? ResponsesAnswer.FromCompletion(completion, responseId, created)
                    : null,
                (_, false) => MessagesResponse.ToError(bytes, status),
                _ => MessagesResponse.ToMessage(bytes, text, out usage),
            };
            if (translated is null)
            {
                return null;
            }

            bytes = translated;
        }
        else if (!AiJson.TryScan(bytes, ref usage, text) && success)
        {
            // A success that is not JSON is the provider's fault; a 4xx body is passed on whatever it is.
            return null;
        }

        if (success)
        {
            call.Usage = usage;
            call.Answered = true;
        }

        return bytes;
    }

    /// <summary>
    /// Settles the call's token reservation and records its tokens and cost at the provider model that answered: as metrics,
    /// and as a usage record for analytics (queued, never waited for).
    /// </summary>
    private void Settle(AiCall call, TokenReservation reservation, Admission admission, string alias)
    {
        // A call its client left was cancelled after the provider had the prompt: it counts what was seen, as a cut stream.
        var charged = call.Answered || call.ClientLeft;
        var usage = call.Usage ?? (charged ? call.Estimate() : default);
        var cost = charged && call.Target?.Price is { } price ? usage.Cost(price) : 0;
        if (!ReferenceEquals(reservation, TokenReservation.None))
        {
            reservation.Settle(usage, cost);
        }

        if (charged && call.Target is { } answered)
        {
            AiMetrics.Record(admission.Plan?.Name, alias, answered, usage);
            if (telemetry.RecordsAi)
            {
                telemetry.RecordAi(new Observability.AiUsageRecord(
                    time.GetUtcNow().UtcTicks, admission.Application?.Id ?? "", admission.Plan?.Name ?? "", alias, answered.Provider.Name, answered.Model,
                    usage.Prompt, usage.Completion, usage.Estimated, cost));
            }
        }
    }

    // A chat call the gateway made (from a Responses call) for one provider model: its model, and usage asked for on a stream.
    private static byte[] ChatForProvider(JsonObject chat, string model, bool stream)
    {
        if (stream)
        {
            chat["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        return AiJson.ForProvider(chat, model);
    }

    // A 429's Retry-After as a wait: seconds, or a date from now.
    private TimeSpan? RetryAfter(System.Net.Http.Headers.RetryConditionHeaderValue? header) =>
        header?.Delta ?? (header?.Date is { } date ? date - time.GetUtcNow() : null);

    [LoggerMessage(Level = LogLevel.Warning, Message = "AI service {Service}: model {Alias} at provider {Provider} ({Model}) failed: {Reason}; trying the next, if any")]
    private static partial void LogFallback(ILogger logger, string service, string alias, string provider, string model, string reason);

    // An error, not a warning: it does not pass by itself, the operator must fix the provider's credential or the model map.
    [LoggerMessage(Level = LogLevel.Error, Message = "AI service {Service}: model {Alias} at provider {Provider} ({Model}) answered {Status}: {Reason}; trying the next, if any")]
    private static partial void LogProviderRefused(ILogger logger, string service, string alias, string provider, string model, int status, string reason);

    /// <summary>Which way a call's request and answer are translated, when the provider speaks the other API than the client.</summary>
    private enum Translation
    {
        None,
        /// <summary>An OpenAI chat completion call to an Anthropic provider.</summary>
        ChatToAnthropic,
        /// <summary>A call of Anthropic's Messages API to an OpenAI-format provider.</summary>
        MessagesToChat,
        /// <summary>A call of OpenAI's Responses API to an Anthropic provider, through chat completions' form.</summary>
        ResponsesToAnthropic,
        /// <summary>A call of OpenAI's Responses API to a server with only chat completions (<c>responsesApi: false</c>).</summary>
        ResponsesToChat,
    }

    private enum AttemptFailure
    {
        None,
        Unreachable,
        Timeout,
        RateLimited,
        ServerError,
        /// <summary>401 or 403: the provider refused the gateway's credential.</summary>
        Refused,
        /// <summary>404: the provider has no such model or deployment.</summary>
        ModelNotFound,
    }
}

/// <summary>The operations of Anthropic's own API, whose clients read its shapes of errors and models.</summary>
internal static class AiOperations
{
    public static bool IsAnthropic(this AiOperation operation) => operation is AiOperation.Messages or AiOperation.CountTokens;
}

/// <summary>What a call is.</summary>
internal enum AiOperation
{
    Chat,
    Embeddings,
    /// <summary>OpenAI's Responses API (<c>POST …/responses</c>), stateless: docs/ai.md.</summary>
    Responses,
    /// <summary>Anthropic's Messages API (<c>POST …/messages</c>): passed through to Anthropic providers, translated for the others.</summary>
    Messages,
    /// <summary>Anthropic's token count (<c>POST …/messages/count_tokens</c>): no tokens used, none recorded.</summary>
    CountTokens,
}

/// <summary>How relaying one provider's response ended.</summary>
internal enum RelayOutcome
{
    /// <summary>The client got an answer; no other provider is tried.</summary>
    Done,
    /// <summary>The client left while the provider was answering; the provider's call was cancelled with it (<see cref="AiCall.ClientLeft"/>).</summary>
    Left,
    /// <summary>Nothing was sent to the client, and the provider was too slow.</summary>
    TimedOut,
    /// <summary>Nothing was sent to the client, and the provider's response was broken.</summary>
    Broken,
}
