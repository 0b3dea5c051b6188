using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Relays a provider's event stream to the client event by event, each flushed as soon as it is whole: nothing is
/// buffered beyond one event. The response is committed only once the provider's first event has arrived, so a provider
/// that fails before it can still be replaced by the next; a failure after that ends the stream with an error event,
/// never a silent truncation. A client that leaves (<see cref="AiCall.ClientLeft"/>) does not end the answer of a
/// provider that finishes for it (<c>finish</c>): the rest is read without it (<see cref="AiCall.Drain"/>), so that the
/// call is settled with the usage the provider bills; the client's request itself ends when it leaves, also while the
/// provider is silent. Otherwise it ends the provider's call at once, even while the provider is silent (the read is
/// cancelled by the client's request, linked into <c>timeout</c>), and the call is settled with what was relayed until then.
/// </summary>
internal static partial class AiStreamRelay
{
    public static async Task<RelayOutcome> RelayAsync(AiCall call, HttpResponseMessage response, CancellationTokenSource timeout, TimeSpan idle, StreamDialect dialect, bool finish)
    {
        var context = call.Context;
        var aborted = context.RequestAborted;
        SseReader reader;
        Task<ReadOnlyMemory<byte>?>? first = null;
        ReadOnlyMemory<byte>? next;
        try
        {
            reader = new SseReader(await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false));
        }
        catch (OperationCanceledException)
        {
            return RelayOutcome.TimedOut;
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            return RelayOutcome.Broken;
        }

        try
        {
            if (finish)
            {
                // Read within the provider's timeout only: a client that leaves before the first event does not stop the
                // provider generating (and billing) the answer, which is read to its end without the client.
                first = reader.ReadEventAsync(timeout.Token).AsTask();
                next = await first.WaitAsync(aborted).ConfigureAwait(false);
            }
            else
            {
                next = await reader.ReadEventAsync(timeout.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested && first is not null)
        {
            call.Drain = DrainAsync(call, reader, first, dialect, timeout.Token, started: false);
            return RelayOutcome.Left;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or InvalidDataException)
        {
            // A read cancelled for a client that left may surface as any of these: the client's leaving is what it was.
            reader.Dispose();
            return aborted.IsCancellationRequested ? RelayOutcome.Left
                : e is OperationCanceledException ? RelayOutcome.TimedOut
                : RelayOutcome.Broken;
        }

        var drained = false;
        try
        {
            if (next is null || dialect.FailsBeforeStart(next.Value.Span))
            {
                return RelayOutcome.Broken;
            }

            call.Answered = true;
            var http = context.Response;
            http.StatusCode = StatusCodes.Status200OK;
            http.ContentType = "text/event-stream";
            http.Headers.CacheControl = "no-cache";
            http.Headers["X-Request-Id"] = call.RequestId;
            context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
            var writer = http.BodyWriter;
            try
            {
                while (true)
                {
                    if (next is not { } current)
                    {
                        await TryWriteErrorEventAsync(dialect, writer, context, "The provider ended the stream before it was complete.", aborted).ConfigureAwait(false);
                        return RelayOutcome.Done;
                    }

                    var step = dialect.Step(call, current.Span, writer, out var wrote, out var error);
                    if (step == StreamStep.Malformed)
                    {
                        await TryWriteErrorEventAsync(dialect, writer, context, "The provider sent an event that is not valid JSON; the stream is ended.", aborted).ConfigureAwait(false);
                        return RelayOutcome.Done;
                    }

                    if (step == StreamStep.ProviderError)
                    {
                        await TryWriteErrorEventAsync(dialect, writer, context, error ?? "The provider reported an error mid-stream; the stream is ended.", aborted).ConfigureAwait(false);
                        return RelayOutcome.Done;
                    }

                    if (step == StreamStep.Done && call.Final is { } final && call.KeepAsync is { } keep)
                    {
                        // A response the gateway keeps is kept before its final event reaches the client.
                        await keep(final, call.FinalOutput).ConfigureAwait(false);
                    }

                    if (wrote)
                    {
                        try
                        {
                            await writer.FlushAsync(aborted).ConfigureAwait(false);
                        }
                        catch (Exception) when (aborted.IsCancellationRequested)
                        {
                            // The client left: seen below.
                        }
                    }

                    if (step == StreamStep.Done)
                    {
                        return RelayOutcome.Done;
                    }

                    if (aborted.IsCancellationRequested)
                    {
                        if (finish)
                        {
                            // The provider goes on generating (and billing) the answer: the rest is read without the
                            // client, given at most one more timeout however often the provider sends.
                            timeout.CancelAfter(idle);
                            call.Drain = DrainAsync(call, reader, null, dialect, timeout.Token);
                            drained = true;
                        }

                        // Otherwise the provider's call ends here (the reader's disposal closes it).
                        return RelayOutcome.Left;
                    }

                    // A provider silent for longer than its timeout mid-stream is as broken as one that never answered. With
                    // cancel, the client's leaving cancels the wait too, however long the provider pauses (a model thinking).
                    timeout.CancelAfter(idle);
                    var reading = reader.ReadEventAsync(timeout.Token);
                    if (!finish || reading.IsCompleted)
                    {
                        next = await reading.ConfigureAwait(false);
                        continue;
                    }

                    // With finish, the read goes on without the client if it leaves during it, and the client's request
                    // ends when it leaves, not at the provider's next event: its 499 and duration in the access log, usage
                    // and metrics are the client's, never a model's pause (docs/ai.md, A client that leaves).
                    var pending = reading.AsTask();
                    try
                    {
                        next = await pending.WaitAsync(aborted).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (aborted.IsCancellationRequested)
                    {
                        timeout.CancelAfter(idle);
                        call.Drain = DrainAsync(call, reader, pending, dialect, timeout.Token, started: true);
                        drained = true;
                        return RelayOutcome.Left;
                    }
                }
            }
            catch (Exception e) when (aborted.IsCancellationRequested && e is OperationCanceledException or IOException or HttpRequestException or InvalidDataException)
            {
                // The client left while the provider was silent (or, with finish, as the provider broke): nothing more is
                // written, to no one, and the call is settled with what was counted.
                return RelayOutcome.Left;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or InvalidDataException)
            {
                // The provider's stream broke (the client's writes do not throw here): the estimate stands in for its usage.
                await TryWriteErrorEventAsync(dialect, writer, context, e is OperationCanceledException
                    ? "The provider stopped sending mid-stream; the stream is ended."
                    : "The connection to the provider broke mid-stream; the stream is ended.", aborted).ConfigureAwait(false);
                return RelayOutcome.Done;
            }
        }
        finally
        {
            if (!drained)
            {
                reader.Dispose();
            }
        }
    }

    private static async Task TryWriteErrorEventAsync(StreamDialect dialect, System.IO.Pipelines.PipeWriter writer, HttpContext context, string message, CancellationToken ct)
    {
        try
        {
            await WriteErrorEventAsync(dialect, writer, context, message, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // The client left too.
        }
    }

    /// <summary>
    /// Ends a broken stream: an error event for clients that read events, then the response is aborted (no final chunk
    /// on HTTP/1.1, RST_STREAM on HTTP/2), so that clients that only read the transport see an error too, never a
    /// complete-looking answer.
    /// </summary>
    private static async Task WriteErrorEventAsync(StreamDialect dialect, System.IO.Pipelines.PipeWriter writer, HttpContext context, string message, CancellationToken ct)
    {
        dialect.WriteError(writer, message);
        try
        {
            await writer.FlushAsync(ct).ConfigureAwait(false);
        }
        finally
        {
            // An abort alone resets the TCP connection, and a reset makes the client's kernel drop what it has not read
            // yet (the error event with it). On HTTP/1.1 the send side is closed first: the client reads every byte, then
            // an end without the last chunk, which HTTP clients report as an error.
            if (context.Request.Protocol == "HTTP/1.1" && context.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()?.Socket is { } socket)
            {
                await Task.Delay(20, CancellationToken.None).ConfigureAwait(false); // Kestrel's send loop hands the flushed bytes to the socket
                try
                {
                    socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
                }
                catch (System.Net.Sockets.SocketException)
                {
                    // Already gone.
                }
            }

            context.Abort();
        }
    }
}
