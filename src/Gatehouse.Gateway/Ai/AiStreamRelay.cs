using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Relays a provider's event stream to the client event by event, each flushed as soon as it is whole: nothing is
/// buffered beyond one event. The response is committed only once the provider's first event has arrived, so a provider
/// that fails before it can still be replaced by the next; a failure after that ends the stream with an error event,
/// never a silent truncation. A client that leaves does not end the provider's answer: the rest is read without it
/// (<see cref="AiCall.Drain"/>), so that the call is settled with the usage the provider bills.
/// </summary>
internal static class AiStreamRelay
{
    public static async Task<RelayOutcome> RelayAsync(AiCall call, HttpResponseMessage response, CancellationTokenSource timeout, TimeSpan idle, StreamDialect dialect)
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
            // Read within the provider's timeout only: a client that leaves before the first event does not stop the
            // provider generating (and billing) the answer, which is read to its end without the client.
            first = reader.ReadEventAsync(timeout.Token).AsTask();
            next = await first.WaitAsync(aborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested && first is not null)
        {
            call.Drain = DrainAsync(call, reader, first, dialect, timeout.Token);
            return RelayOutcome.Left;
        }
        catch (OperationCanceledException)
        {
            reader.Dispose();
            return RelayOutcome.TimedOut;
        }
        catch (Exception e) when (e is IOException or HttpRequestException or InvalidDataException)
        {
            reader.Dispose();
            return RelayOutcome.Broken;
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
                        // The client left mid-stream; the provider goes on generating (and billing) the answer. The rest is
                        // read without the client, given at most one more timeout however often the provider sends.
                        timeout.CancelAfter(idle);
                        call.Drain = DrainAsync(call, reader, null, dialect, timeout.Token);
                        drained = true;
                        return RelayOutcome.Left;
                    }

                    // A provider silent for longer than its timeout mid-stream is as broken as one that never answered.
                    timeout.CancelAfter(idle);
                    next = await reader.ReadEventAsync(timeout.Token).ConfigureAwait(false);
                }
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
