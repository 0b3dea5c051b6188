using System.Buffers;
using System.Net;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>
/// Streams the client's request body to the upstream through a pooled buffer: nothing is buffered whole.
/// Remembers a failure on the client side so the forwarder can tell "client sent a bad body" (413, 400)
/// from "upstream failed" (502).
/// </summary>
/// <remarks>
/// The request's deadline (<paramref name="deadline"/>, <paramref name="timeout"/>) is for the upstream's answer, not for
/// the client's upload: while the body moves it is pushed back, so it runs <paramref name="timeout"/> from the body's
/// last move (to within a quarter of it, at most a second: it is re-armed no more often than that, and a body that takes
/// less costs no timer change). Before, an upload longer than the route's <c>timeout</c> (30 s by default: a large file over a slow link, a
/// long client stream) was cut with 504 however promptly the upstream took it. Once the answer's headers are in, the
/// forwarder no longer uses the deadline and the handler no longer applies it to the body (a test holds a duplex stream
/// open past it), so the re-arms that may still come then change nothing.
/// </remarks>
internal sealed class StreamingRequestContent(Stream source, long? contentLength, CancellationTokenSource? deadline = null, TimeSpan timeout = default) : HttpContent
{
    private const int BufferSize = 64 * 1024;
    private readonly long? _length = contentLength;
    // Re-armed at most this often: a quarter of the timeout, at most a second, so a re-arm always lands before it fires.
    private readonly long _rearmEvery = Math.Min(System.Diagnostics.Stopwatch.Frequency, (long)(timeout.TotalSeconds * System.Diagnostics.Stopwatch.Frequency / 4));
    private long _armedAt = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>The exception reading the client's body threw, if it did.</summary>
    public Exception? ClientError { get; private set; }

    /// <summary>Bytes read from the client so far.</summary>
    public long BytesRead { get; private set; }

    /// <summary>True once any byte of the body was read from the client.</summary>
    public bool Started { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) =>
        SerializeToStreamAsync(stream, context, CancellationToken.None);

    protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Started = true;
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    var pending = source.ReadAsync(buffer.AsMemory(), cancellationToken);
                    if (!pending.IsCompleted)
                    {
                        // The client is slower than us: push what we have so a streaming upstream sees it now.
                        await stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                    }

                    read = await pending.ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    ClientError = e;
                    throw;
                }

                Moved();
                if (read == 0)
                {
                    return;
                }

                BytesRead += read;
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                Moved();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // The body moved (one copy loop calls this, never two at once): the deadline runs from now, if it was last set long enough ago.
    private void Moved()
    {
        if (deadline is null)
        {
            return;
        }

        var now = System.Diagnostics.Stopwatch.GetTimestamp();
        if (now - _armedAt < _rearmEvery)
        {
            return;
        }

        _armedAt = now;
        try
        {
            deadline.CancelAfter(timeout);
        }
        catch (ObjectDisposedException)
        {
            // The request ended meanwhile.
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length ?? -1;
        return _length.HasValue;
    }
}
