using System.Buffers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Relays a provider's event stream to the client event by event, each flushed as soon as it is whole: nothing is
/// buffered beyond one event. The response is committed only once the provider's first event has arrived, so a provider
/// that fails before it can still be replaced by the next; a failure after that ends the stream with an error event,
/// never a silent truncation.
/// </summary>
internal static class AiStreamRelay
{
    public static async Task<RelayOutcome> RelayAsync(AiCall call, HttpResponseMessage response, CancellationTokenSource timeout, TimeSpan idle, StreamDialect dialect)
    {
        var context = call.Context;
        var aborted = context.RequestAborted;
        Stream content;
        SseReader reader;
        ReadOnlyMemory<byte>? next;
        try
        {
            content = await response.Content.ReadAsStreamAsync(timeout.Token).ConfigureAwait(false);
            reader = new SseReader(content);
            next = await reader.ReadEventAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            return RelayOutcome.Done;
        }
        catch (OperationCanceledException)
        {
            return RelayOutcome.TimedOut;
        }
        catch (Exception e) when (e is IOException or HttpRequestException or InvalidDataException)
        {
            return RelayOutcome.Broken;
        }

        using (reader)
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
                        await WriteErrorEventAsync(dialect, writer, context, "The provider ended the stream before it was complete.", aborted).ConfigureAwait(false);
                        return RelayOutcome.Done;
                    }

                    var step = dialect.Step(call, current.Span, writer, out var wrote, out var error);
                    if (step == StreamStep.Malformed)
                    {
                        await WriteErrorEventAsync(dialect, writer, context, "The provider sent an event that is not valid JSON; the stream is ended.", aborted).ConfigureAwait(false);
                        return RelayOutcome.Done;
                    }

                    if (step == StreamStep.ProviderError)
                    {
                        await WriteErrorEventAsync(dialect, writer, context, error ?? "The provider reported an error mid-stream; the stream is ended.", aborted).ConfigureAwait(false);
                        return RelayOutcome.Done;
                    }

                    if (step == StreamStep.Done && call.Final is { } final && call.KeepAsync is { } keep)
                    {
                        // A response the gateway keeps is kept before its final event reaches the client.
                        await keep(final, call.FinalOutput).ConfigureAwait(false);
                    }

                    if (wrote)
                    {
                        await writer.FlushAsync(aborted).ConfigureAwait(false);
                    }

                    if (step == StreamStep.Done)
                    {
                        return RelayOutcome.Done;
                    }

                    // A provider silent for longer than its timeout mid-stream is as broken as one that never answered.
                    timeout.CancelAfter(idle);
                    next = await reader.ReadEventAsync(timeout.Token).ConfigureAwait(false);
                }
            }
            catch (Exception) when (aborted.IsCancellationRequested)
            {
                // The client left mid-stream; the reservation is settled with what was seen.
                return RelayOutcome.Done;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException or InvalidDataException)
            {
                await TryWriteErrorEventAsync(dialect, writer, context, e is OperationCanceledException
                    ? "The provider stopped sending mid-stream; the stream is ended."
                    : "The connection to the provider broke mid-stream; the stream is ended.", aborted).ConfigureAwait(false);
                return RelayOutcome.Done;
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
