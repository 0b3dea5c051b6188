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
    /// it), for its usage; nothing is kept or written.
    /// </summary>
    private static async Task DrainWholeAsync(AiCall call, HttpResponseMessage response, Task<(byte[]? Bytes, RelayOutcome Failed)> reading, Translation translation, long created)
    {
        if ((await reading.ConfigureAwait(false)).Bytes is { } bytes && response.IsSuccessStatusCode)
        {
            Answer(call, response, bytes, translation, created);
        }
    }

    /// <summary>
    /// An attempt whose client left before the provider's response headers came: the provider answers (and bills)
    /// anyway, so its answer is read to its end, streamed (<paramref name="dialect"/>) or whole, as if the client were
    /// there but writing nothing, within the provider's timeout. A provider that fails or refuses answered nothing and
    /// bills nothing: the call is settled with nothing, as it is when the client is there (<see cref="AiCall.CutWithClient"/>),
    /// and no other provider is tried.
    /// </summary>
    private static async Task DrainAnswerAsync(AiCall call, Task<HttpResponseMessage> sending, StreamDialect? dialect, CancellationToken deadline, Translation translation, long created)
    {
        HttpResponseMessage response;
        try
        {
            response = await sending.ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
        {
            return;
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                return;
            }

            if (dialect is not null)
            {
                await AiStreamRelay.DrainAsync(call, response, dialect, deadline).ConfigureAwait(false);
            }
            else
            {
                await DrainWholeAsync(call, response, ReadWholeAsync(response, deadline), translation, created).ConfigureAwait(false);
            }
        }
    }

    // Once a drain is over: the attempt's request, response and timeout are released, and its span ends with the usage.
    private static async Task ReleaseAfterAsync(Task drain, AiCall call, HttpRequestMessage request, CancellationTokenSource timeout, HttpResponseMessage? response, System.Diagnostics.Activity? span, int spanStatus)
    {
        try
        {
            await drain.ConfigureAwait(false);
        }
        finally
        {
            response?.Dispose();
            timeout.Dispose();
            request.Dispose();
            Observability.GatewayTracing.StopModelCall(span, spanStatus, null, call.Usage);
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

    [LoggerMessage(Level = LogLevel.Error, Message = "AI model {Alias}: reading the answer of a call whose client left failed; the call is settled with what was read")]
    private static partial void LogDrainFailed(ILogger logger, string alias, Exception exception);
}
