using System.Globalization;
using System.Text;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>
/// Splits the bytes an HTTP/1.1 server receives (as Latin-1 text) into request heads, skipping each
/// request's body by its framing (Content-Length or chunked), so that bytes inside a body are never
/// mistaken for the next request.
/// </summary>
internal sealed class Http1RequestFramer
{
    private readonly StringBuilder _pending = new();
    private State _state = State.Head;
    private long _remaining;

    private enum State
    {
        Head,
        Body,
        ChunkSize,
        ChunkData,
        Trailers,
    }

    /// <summary>Adds received text; returns the request heads (ending in the blank line) completed by it.</summary>
    public List<string> Append(string text)
    {
        _pending.Append(text);
        var heads = new List<string>();
        while (Step(heads))
        {
        }

        return heads;
    }

    private bool Step(List<string> heads)
    {
        switch (_state)
        {
            case State.Head:
            {
                var end = IndexOf("\r\n\r\n");
                if (end < 0)
                {
                    return false;
                }

                var head = Take(end + 4);
                heads.Add(head);
                (_state, _remaining) = FramingOf(head);
                return true;
            }

            case State.Body:
            case State.ChunkData:
            {
                if (_pending.Length == 0 && _remaining > 0)
                {
                    return false;
                }

                var taken = (int)Math.Min(_remaining, _pending.Length);
                Take(taken);
                _remaining -= taken;
                if (_remaining > 0)
                {
                    return false;
                }

                _state = _state == State.Body ? State.Head : State.ChunkSize;
                return true;
            }

            case State.ChunkSize:
            {
                var end = IndexOf("\r\n");
                if (end < 0)
                {
                    return false;
                }

                var line = Take(end + 2)[..end];
                var size = long.TryParse(line.Split(';')[0].Trim(), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var s) ? s : 0;
                (_state, _remaining) = size > 0 ? (State.ChunkData, size + 2) : (State.Trailers, 0);
                return true;
            }

            default:
            {
                var end = IndexOf("\r\n");
                if (end < 0)
                {
                    return false;
                }

                Take(end + 2);
                if (end == 0)
                {
                    _state = State.Head;
                }

                return true;
            }
        }
    }

    private static (State, long) FramingOf(string head)
    {
        long? length = null;
        foreach (var line in head.Split("\r\n").Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon < 0)
            {
                continue;
            }

            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) && value.EndsWith("chunked", StringComparison.OrdinalIgnoreCase))
            {
                return (State.ChunkSize, 0);
            }

            if (name.Equals("Content-Length", StringComparison.OrdinalIgnoreCase) && long.TryParse(value, out var n))
            {
                length = n;
            }
        }

        return length is > 0 ? (State.Body, length.Value) : (State.Head, 0);
    }

    private int IndexOf(string value) => _pending.ToString().IndexOf(value, StringComparison.Ordinal);

    private string Take(int count)
    {
        var taken = _pending.ToString(0, count);
        _pending.Remove(0, count);
        return taken;
    }
}
