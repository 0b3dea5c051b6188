using System.Buffers;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Reads a provider's server-sent events one event at a time, as the raw bytes of its lines, so that each can be
/// relayed (and flushed) the moment it is whole. Written here rather than with <c>System.Net.ServerSentEvents</c>
/// because the relay must forward the provider's bytes unchanged, not re-serialize parsed events.
/// </summary>
internal sealed class SseReader(Stream stream) : IDisposable
{
    /// <summary>An event larger than this is a malformed stream, not a reason to buffer without end.</summary>
    public const int MaxEvent = 1024 * 1024;

    private byte[] _buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
    private int _start;
    private int _end;
    private int _scan;

    /// <summary>The next event's lines (without the blank line that ends it), or empty memory at the end of the stream.</summary>
    /// <exception cref="InvalidDataException">The event is over <see cref="MaxEvent"/>.</exception>
    public async ValueTask<ReadOnlyMemory<byte>?> ReadEventAsync(CancellationToken ct)
    {
        while (true)
        {
            for (var i = Math.Max(_scan, _start); i < _end; i++)
            {
                if (_buffer[i] != (byte)'\n')
                {
                    continue;
                }

                var j = i + 1;
                if (j < _end && _buffer[j] == (byte)'\r')
                {
                    j++;
                }

                if (j >= _end)
                {
                    _scan = i;
                    break;
                }

                if (_buffer[j] == (byte)'\n')
                {
                    var eventEnd = i > _start && _buffer[i - 1] == (byte)'\r' ? i - 1 : i;
                    var result = new ReadOnlyMemory<byte>(_buffer, _start, eventEnd - _start);
                    _start = j + 1;
                    _scan = _start;
                    if (result.Length == 0)
                    {
                        continue; // blank lines between events
                    }

                    return result;
                }

                _scan = i + 1;
            }

            if (_end - _start >= MaxEvent)
            {
                throw new InvalidDataException("An event of the stream is over 1 MiB.");
            }

            if (_start > 0)
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _scan = Math.Max(0, _scan - _start);
                _start = 0;
            }

            if (_end == _buffer.Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(_buffer.Length * 2);
                Buffer.BlockCopy(_buffer, 0, bigger, 0, _end);
                ArrayPool<byte>.Shared.Return(_buffer);
                _buffer = bigger;
            }

            var read = await stream.ReadAsync(_buffer.AsMemory(_end), ct).ConfigureAwait(false);
            if (read == 0)
            {
                // A last event without its blank line still counts.
                if (_end > _start)
                {
                    var rest = new ReadOnlyMemory<byte>(_buffer, _start, _end - _start);
                    _start = _end;
                    return rest.Span.Trim("\r\n"u8).IsEmpty ? null : rest;
                }

                return null;
            }

            _end += read;
        }
    }

    /// <summary>The event's <c>data</c> (several data lines joined with LF, which allocates), or empty when it has none.</summary>
    public static ReadOnlySpan<byte> Data(ReadOnlySpan<byte> eventBytes)
    {
        byte[]? joined = null;
        var written = 0;
        var single = eventBytes.IndexOf("\ndata:"u8) < 0;
        foreach (var range in eventBytes.Split((byte)'\n'))
        {
            var line = eventBytes[range].TrimEnd((byte)'\r');
            if (!line.StartsWith("data:"u8))
            {
                continue;
            }

            var value = line[5..];
            if (!value.IsEmpty && value[0] == (byte)' ')
            {
                value = value[1..];
            }

            if (single)
            {
                return value; // the common case: one data line, no copy
            }

            joined ??= new byte[eventBytes.Length];
            if (written > 0)
            {
                joined[written++] = (byte)'\n';
            }

            value.CopyTo(joined.AsSpan(written));
            written += value.Length;
        }

        return joined is null ? default : joined.AsSpan(0, written);
    }

    public void Dispose()
    {
        ArrayPool<byte>.Shared.Return(_buffer);
        _buffer = [];
    }
}
