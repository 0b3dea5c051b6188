using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Ai.Anthropic;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// A call's attempts: the alias's provider models in order (those cooling down last), each sent the call in its own API's
/// form, and the next tried while nothing has reached the client (an unreachable, slow, refusing or rate-limiting
/// provider); the answer is relayed streamed (<see cref="AiStreamRelay"/>) or whole (<see cref="RelayWholeAsync"/>).
/// A client that leaves tries no other: its attempt is read to its end without it, or ended, by the provider's
/// <c>onClientLeave</c> (<see cref="AiCall.ClientLeft"/>).
/// </summary>
internal sealed partial class AiHandler
{
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
            // onClientLeave: finish (the default): not linked to the client's request, since a billed provider goes on
            // generating (and billing) the answer when the client leaves, so the answer is still read to its end, within
            // the provider's timeout (AiCall.Drain). cancel: linked to it, so that a client that leaves ends the provider's
            // call at once, wherever it is (waiting for the headers, a whole body, or a stream's next event while the
            // model thinks), and a self-hosted server stops spending its GPU on an answer no one reads.
            var finish = provider.FinishWhenClientLeaves;
            var timeout = finish ? new CancellationTokenSource() : CancellationTokenSource.CreateLinkedTokenSource(aborted);
            timeout.CancelAfter(provider.Timeout);
            HttpResponseMessage? response = null;
            try
            {
                var sending = provider.Invoker.SendAsync(request, timeout.Token);
                try
                {
                    response = await (finish ? sending.WaitAsync(aborted) : sending).ConfigureAwait(false);
                }
                catch (Exception e) when (aborted.IsCancellationRequested && e is OperationCanceledException or HttpRequestException)
                {
                    // Not the provider's failure (no cooldown, no fallback): the provider has the prompt, which is settled
                    // with the provider's usage once its answer is read (finish), or estimated (cancel). How the provider
                    // then answers, read without the client, counts towards its cooldown (ReleaseAfterAsync).
                    (call.Target, call.ClientLeft) = (target, true);
                    if (finish)
                    {
                        call.Drain = DrainAnswerAsync(call, sending, stream ? Dialect(call, operation, translation, created) : null, timeout.Token, translation, created);
                    }
                    else
                    {
                        spanError = "client_aborted";
                    }

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
                    ? await AiStreamRelay.RelayAsync(call, response, timeout, provider.Timeout, Dialect(call, operation, translation, created), finish).ConfigureAwait(false)
                    : await RelayWholeAsync(call, response, timeout, translation, created, finish).ConfigureAwait(false);
                if (outcome == RelayOutcome.Left || (outcome != RelayOutcome.Done && aborted.IsCancellationRequested))
                {
                    // The provider's call ended with the client's (cancel), or its rest is read without the client (finish,
                    // AiCall.Drain): the leaving says nothing of the provider, and no other provider is called for a client
                    // that is gone. What is read without it says as much of the provider as with the client there, and is
                    // counted when the reading ends (ReleaseAfterAsync).
                    call.ClientLeft = true;
                    spanError = call.Drain is null ? "client_aborted" : null;
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
                if (call.Drain is { } drain)
                {
                    // The drain reads on: the provider's cooldown is counted, what the attempt holds released, and its span
                    // ended with the usage or the failure, after it.
                    call.Drain = ReleaseAfterAsync(drain, call, ai, alias, target, request, timeout, response, span, spanStatus);
                }
                else
                {
                    // Disposing a response not read to its end aborts its connection (or its HTTP/2 stream): the provider
                    // sees the call end.
                    response?.Dispose();
                    timeout.Dispose();
                    request.Dispose();
                    Observability.GatewayTracing.StopModelCall(span, spanStatus, spanError, call.Usage);
                }

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
