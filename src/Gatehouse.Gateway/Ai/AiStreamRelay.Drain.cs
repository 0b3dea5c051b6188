using System.Buffers;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// The rest of a provider's stream whose client left, for a provider that finishes for it (<c>onClientLeave: finish</c>):
/// read to its end without the client, within the provider's timeout, so that the call is settled with the usage the
/// provider bills (<see cref="AiCall.Drain"/>).
/// </summary>
internal static partial class AiStreamRelay
{
    /// <summary>A provider's stream whose client left before its response headers came: read whole, as <see cref="DrainAsync(AiCall, SseReader, Task{ReadOnlyMemory{byte}?}?, StreamDialect, CancellationToken)"/>.</summary>
    public static async Task DrainAsync(AiCall call, HttpResponseMessage response, StreamDialect dialect, CancellationToken deadline)
    {
        SseReader reader;
        try
        {
            reader = new SseReader(await response.Content.ReadAsStreamAsync(deadline).ConfigureAwait(false));
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            return;
        }

        await DrainAsync(call, reader, reader.ReadEventAsync(deadline).AsTask(), dialect, deadline).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads the rest of a provider's stream once its client has left, as the relay would (usage and text recorded on
    /// <paramref name="call"/>) but writing nothing anywhere, until the stream ends or <paramref name="deadline"/>
    /// passes. <paramref name="first"/> is the provider's first event when it had not come yet; the call counts as
    /// answered once it came and is not a failure.
    /// </summary>
    private static async Task DrainAsync(AiCall call, SseReader reader, Task<ReadOnlyMemory<byte>?>? first, StreamDialect dialect, CancellationToken deadline)
    {
        using (reader)
        {
            var discard = new ArrayBufferWriter<byte>(1024);
            try
            {
                var next = first is null ? await reader.ReadEventAsync(deadline).ConfigureAwait(false) : await first.ConfigureAwait(false);
                if (first is not null)
                {
                    if (next is null || dialect.FailsBeforeStart(next.Value.Span))
                    {
                        return;
                    }

                    call.Answered = true;
                }

                while (next is { } current)
                {
                    discard.ResetWrittenCount();
                    if (dialect.Step(call, current.Span, discard, out _, out _) != StreamStep.Continue)
                    {
                        return;
                    }

                    next = await reader.ReadEventAsync(deadline).ConfigureAwait(false);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or InvalidDataException)
            {
                // The provider broke, or did not finish within the bound: the estimate stands in for its usage.
            }
        }
    }
}
