using System.Buffers;
using System.Buffers.Binary;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>
/// Relays a WebSocket's upstream-to-client bytes while following the frame boundaries (RFC 6455 §5.2), so that a drain
/// can put a close frame (1001, going away) between two frames rather than into the middle of one. Only the frame
/// headers are read; payloads (compressed or not) pass through untouched.
/// </summary>
internal static class WebSocketDrain
{
    // FIN + close opcode, a 2-byte payload: status 1001 (going away). Unmasked: it goes from the server side.
    private static readonly byte[] GoingAway = [0x88, 0x02, 0x03, 0xE9];

    /// <summary>Copies until either side ends, or until <paramref name="closing"/> fired and the close frame was sent.</summary>
    public static async Task CopyToClientAsync(Stream from, Stream to, CancellationToken closing, CancellationToken cancellation)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        var cursor = new FrameCursor();
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var closed = signal.Task;
        // Unregistered when the tunnel ends, so long-lived gateways do not collect one callback per WebSocket ever opened.
        using var registration = closing.UnsafeRegister(static s => ((TaskCompletionSource)s!).TrySetResult(), signal);
        var abandoned = false;
        try
        {
            var read = from.ReadAsync(buffer, cancellation).AsTask();
            while (true)
            {
                if (!closing.IsCancellationRequested)
                {
                    await Task.WhenAny(read, closed).ConfigureAwait(false);
                }

                if (closing.IsCancellationRequested && cursor.AtBoundary)
                {
                    // The read still pending owns the buffer until the tunnel's cancellation ends it.
                    abandoned = !read.IsCompleted;
                    await to.WriteAsync(GoingAway, cancellation).ConfigureAwait(false);
                    await to.FlushAsync(cancellation).ConfigureAwait(false);
                    return;
                }

                var n = await read.ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }

                await to.WriteAsync(buffer.AsMemory(0, n), cancellation).ConfigureAwait(false);
                cursor.Advance(buffer.AsSpan(0, n));
                read = from.ReadAsync(buffer, cancellation).AsTask();
            }
        }
        catch (Exception) when (!cancellation.IsCancellationRequested)
        {
            // A reset on one side ends the tunnel, as in the plain copy.
        }
        finally
        {
            if (!abandoned)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>Where the byte stream is in its frames: inside a header, inside a payload, or between frames.</summary>
    internal sealed class FrameCursor
    {
        private readonly byte[] _header = new byte[14];
        private int _have;
        private int _need = 2;
        private long _payload;

        public bool AtBoundary => _have == 0 && _payload == 0;

        public void Advance(ReadOnlySpan<byte> data)
        {
            while (!data.IsEmpty)
            {
                if (_payload > 0)
                {
                    var skip = (int)Math.Min(_payload, data.Length);
                    _payload -= skip;
                    data = data[skip..];
                    continue;
                }

                _header[_have++] = data[0];
                data = data[1..];
                if (_have == 2)
                {
                    var length7 = _header[1] & 0x7F;
                    _need = 2 + (length7 == 126 ? 2 : length7 == 127 ? 8 : 0) + ((_header[1] & 0x80) != 0 ? 4 : 0);
                }

                if (_have >= 2 && _have == _need)
                {
                    var length7 = _header[1] & 0x7F;
                    _payload = length7 switch
                    {
                        126 => BinaryPrimitives.ReadUInt16BigEndian(_header.AsSpan(2)),
                        127 => (long)(BinaryPrimitives.ReadUInt64BigEndian(_header.AsSpan(2)) & long.MaxValue),
                        _ => length7,
                    };
                    _have = 0;
                    _need = 2;
                }
            }
        }
    }
}
