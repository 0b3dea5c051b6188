using System.Buffers;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// The rest of a provider's stream whose client left, for a provider that finishes for it (<c>onClientLeave: finish</c>):
/// read to its end without the client, within the provider's timeout, so that the call is settled with the usage the
/// provider bills (<see cref="AiCall.Drain"/>).
/// </summary>
internal static partial class AiStreamRelay
{
    /// <summary>A provider's stream whose client left before its response headers came: read whole, as <see cref="DrainAsync(AiCall, SseReader, Task{ReadOnlyMemory{byte}?}?, StreamDialect, CancellationToken, bool)"/>.</summary>
    public static async Task<DrainOutcome> DrainAsync(AiCall call, HttpResponseMessage response, StreamDialect dialect, CancellationToken deadline)
    {
        SseReader reader;
        try
        {
            reader = new SseReader(await response.Content.ReadAsStreamAsync(deadline).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            return DrainOutcome.TimedOut;
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return DrainOutcome.Broken;
        }

        return await DrainAsync(call, reader, reader.ReadEventAsync(deadline).AsTask(), dialect, deadline, started: false).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the rest of a provider's stream once its client has left, as the relay would (usage and text recorded on
    /// <paramref name="call"/>) but writing nothing anywhere, until the stream ends or <paramref name="deadline"/>
    /// passes. <paramref name="pending"/> is the read of the provider's next event that the client left during, if any;
    /// unless the stream had <paramref name="started"/>, that is its first event, and the call counts as answered once it
    /// came and is not a failure. A stream that fails before that is the provider's failure, as it is with the client there;
    /// one that breaks after it began has answered, as one the relay ends with an error event does.
    /// </summary>
    private static async Task<DrainOutcome> DrainAsync(AiCall call, SseReader reader, Task<ReadOnlyMemory<byte>?>? pending, StreamDialect dialect, CancellationToken deadline, bool started = true)
    {
        using (reader)
        {
            var discard = new ArrayBufferWriter<byte>(1024);
            try
            {
                var next = pending is null ? await reader.ReadEventAsync(deadline).ConfigureAwait(false) : await pending.ConfigureAwait(false);
                if (!started)
                {
                    if (next is null || dialect.FailsBeforeStart(next.Value.Span))
                    {
                        return DrainOutcome.Broken;
                    }

                    call.Answered = true;
                    started = true;
                }

                while (next is { } current)
                {
                    discard.ResetWrittenCount();
                    if (dialect.Step(call, current.Span, discard, out _, out _) != StreamStep.Continue)
                    {
                        return DrainOutcome.Answered;
                    }

                    next = await reader.ReadEventAsync(deadline).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or InvalidDataException)
            {
                // The provider broke, or did not finish within the bound: once its answer began, the estimate stands in for
                // its usage, as for a client still there, and it had answered; before, it answered (and bills) nothing
                // (AiCall.CutWithClient), and failed, as it does with the client there.
                if (!started)
                {
                    return e is OperationCanceledException ? DrainOutcome.TimedOut : DrainOutcome.Broken;
                }
            }
        }

        return DrainOutcome.Answered;
    }
}
