using System.Buffers;
using System.Net;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>
/// Streams the client's request body to the upstream through a pooled buffer: nothing is buffered whole.
/// Remembers a failure on the client side so the forwarder can tell "client sent a bad body" (413, 400)
/// from "upstream failed" (502).
/// </summary>
internal sealed class StreamingRequestContent(Stream source, long? contentLength) : HttpContent
{
    private const int BufferSize = 64 * 1024;
    private readonly long? _length = contentLength;

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

                if (read == 0)
                {
                    return;
                }

                BytesRead += read;
                await stream.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    protected override bool TryComputeLength(out long length)
    {
        length = _length ?? -1;
        return _length.HasValue;
    }
}
