using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Access;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// A model call's admission and settlement: the body read and checked (alias, plan, provider-side references, choices,
/// Anthropic's beta header), its tokens reserved against the plan's limits, the call sent (<see cref="SendAsync"/>), and
/// the reservation settled with its usage however the call ends, as metrics and a usage record too.
/// </summary>
internal sealed partial class AiHandler
{
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
            // Settled on every path: completed, refused by every provider, or left by the client (once the provider's
            // answer has been read without it, or at once with what was counted when it left).
            if (operation != AiOperation.CountTokens)
            {
                SettleWhenRead(call, reservation, admission, alias);
            }
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[A-Za-z0-9_-]{1,128}(,[A-Za-z0-9_-]{1,128}){0,15}$")]
    private static partial System.Text.RegularExpressions.Regex BetaNames();

    /// <summary>
    /// Settles the call's token reservation and records its tokens and cost at the provider model that answered: as metrics,
    /// and as a usage record for analytics (queued, never waited for).
    /// </summary>
    private void Settle(AiCall call, TokenReservation reservation, Admission admission, string alias)
    {
        // A call whose provider answered counts, and so does one whose provider's call the gateway ended with its client
        // (the provider had the prompt); one whose provider failed before answering counts nothing, whether the client was
        // still there or the provider was finishing for a client that left, since the provider bills no failed call.
        var charged = call.Answered || call.CutWithClient;
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
}
