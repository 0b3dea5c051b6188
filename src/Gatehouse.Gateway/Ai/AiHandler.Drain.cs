using System.Net;
using Gatehouse.Gateway.Access;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// A call whose client left while a provider that finishes for it (<c>onClientLeave: finish</c>, the default) was
/// answering: a billed provider generates and bills the whole answer all the same, so what is left of it is read without
/// the client (<see cref="AiCall.Drain"/>), detached from the client's request, and the call is settled after it with the
/// provider's usage (docs/ai.md, A client that leaves).
/// </summary>
internal sealed partial class AiHandler
{
    /// <summary>
    /// The rest of a whole answer whose client left while it was read: read to its end all the same (the provider bills
    /// it), for its usage; nothing is kept or written. A body that is broken, or not whole within the provider's timeout,
    /// is the provider's failure, as it is with the client there.
    /// </summary>
    private static async Task<DrainOutcome> DrainWholeAsync(AiCall call, HttpResponseMessage response, Task<(byte[]? Bytes, RelayOutcome Failed)> reading, Translation translation, long created)
    {
        var (bytes, failed) = await reading.ConfigureAwait(false);
        if (bytes is null)
        {
            return DrainOutcome.Of(failed);
        }

        // As for the client: a success that is not its API's JSON is the provider's broken answer, a refusal is passed on.
        return Answer(call, response, bytes, translation, created) is null ? DrainOutcome.Broken : DrainOutcome.Answered;
    }

    /// <summary>
    /// An attempt whose client left before the provider's response headers came: the provider answers (and bills)
    /// anyway, so its answer is read to its end, streamed (<paramref name="dialect"/>) or whole, as if the client were
    /// there but writing nothing, within the provider's timeout. A provider that fails or refuses answered nothing and
    /// bills nothing: the call is settled with nothing, as it is when the client is there (<see cref="AiCall.CutWithClient"/>),
    /// and no other provider is tried; the failure is the provider's all the same (<see cref="DrainOutcome"/>).
    /// </summary>
    private async Task<DrainOutcome> DrainAnswerAsync(AiCall call, Task<HttpResponseMessage> sending, StreamDialect? dialect, CancellationToken deadline, Translation translation, long created)
    {
        HttpResponseMessage response;
        try
        {
            response = await sending.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Only the provider's timeout cancels it: the call is no longer linked to the client's request.
            return DrainOutcome.TimedOut;
        }
        catch (HttpRequestException e)
        {
            return new DrainOutcome(true, Error: e.HttpRequestError.ToString());
        }

        using (response)
        {
            var status = (int)response.StatusCode;
            if (status is (int)HttpStatusCode.TooManyRequests or >= 500 or 401 or 403 or 404)
            {
                // The statuses SendAsync passes over to the next provider for: the provider's failure, or the gateway's
                // credential or model map failing at it.
                return new DrainOutcome(true, status, RetryAfter: status == 429 ? RetryAfter(response.Headers.RetryAfter) : null);
            }

            if (!response.IsSuccessStatusCode)
            {
                // The call refused (a prompt too long for the model): the provider is up, and bills nothing.
                return new DrainOutcome(false, status);
            }

            var read = dialect is not null
                ? await AiStreamRelay.DrainAsync(call, response, dialect, deadline).ConfigureAwait(false)
                : await DrainWholeAsync(call, response, ReadWholeAsync(response, deadline), translation, created).ConfigureAwait(false);
            return read with { Status = status };
        }
    }

    /// <summary>
    /// Once a drain is over: the provider model's cooldown counts how the provider did, as it would with the client there
    /// (a failure before its answer began towards it, anything else resetting it), the attempt's request, response and
    /// timeout are released, and its span ends with the usage, or the failure.
    /// </summary>
    private async Task<DrainOutcome> ReleaseAfterAsync(Task<DrainOutcome> drain, AiCall call, AiServiceModel ai, string alias, AiModelTarget target, HttpRequestMessage request, CancellationTokenSource timeout, HttpResponseMessage? response, System.Diagnostics.Activity? span, int spanStatus)
    {
        var outcome = DrainOutcome.Answered;
        try
        {
            outcome = await drain.ConfigureAwait(false);
            if (outcome.Failed)
            {
                LogFailedAfterLeaving(_logger, ai.Name, alias, target.Provider.Name, target.Model, outcome.Error ?? outcome.Status.ToString(System.Globalization.CultureInfo.InvariantCulture));
                cooldowns.Failed(ai.Name, target, ai.Cooldown, outcome.RetryAfter);
            }
            else
            {
                cooldowns.Succeeded(ai.Name, target);
            }

            return outcome;
        }
        finally
        {
            response?.Dispose();
            timeout.Dispose();
            request.Dispose();
            Observability.GatewayTracing.StopModelCall(span, outcome.Status > 0 ? outcome.Status : spanStatus, outcome.Error, call.Usage);
        }
    }

    /// <summary>
    /// Settles the call now, or, when the client left while a provider was still answering, once the rest of the answer
    /// has been read (<see cref="AiCall.Drain"/>), so that it is settled with the provider's usage.
    /// </summary>
    private void SettleWhenRead(AiCall call, TokenReservation reservation, Admission admission, string alias)
    {
        if (call.Drain is not { } drain)
        {
            Settle(call, reservation, admission, alias);
            return;
        }

        _ = SettleAfterAsync(drain, call, reservation, admission, alias);
    }

    private async Task SettleAfterAsync(Task drain, AiCall call, TokenReservation reservation, Admission admission, string alias)
    {
        try
        {
            await drain.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Never expected (the drain ends on any failure of the provider's); the call is settled all the same.
            LogDrainFailed(_logger, alias, e);
        }

        Settle(call, reservation, admission, alias);
    }

    // A warning as a fallback's is: no other provider is tried for a client that left, but the provider's health is the same.
    [LoggerMessage(Level = LogLevel.Warning, Message = "AI service {Service}: model {Alias} at provider {Provider} ({Model}) failed after its client left: {Reason}; counted towards its cooldown")]
    private static partial void LogFailedAfterLeaving(ILogger logger, string service, string alias, string provider, string model, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "AI model {Alias}: reading the answer of a call whose client left failed; the call is settled with what was read")]
    private static partial void LogDrainFailed(ILogger logger, string alias, Exception exception);
}
