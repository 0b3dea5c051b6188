using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>
/// A client made of a bare socket, for requests that <see cref="HttpClient"/> would refuse or normalise:
/// it sends exactly the bytes it is given and parses what comes back (status line, headers, body framed by
/// Content-Length, chunked encoding or the end of the connection), each read bounded by a timeout.
/// </summary>
internal sealed class RawClient : IAsyncDisposable
{
    /// <summary>How long a response may take unless a test says otherwise.</summary>
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(10);

    private readonly Socket _socket;
    private readonly NetworkStream _stream;
    private readonly byte[] _buffer = new byte[16 * 1024];
    private readonly MemoryStream _pending = new();
    private bool _ended;

    private RawClient(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: false);
    }

    /// <summary>True once the server closed or reset the connection.</summary>
    public bool ServerClosed => _ended;

    /// <summary>True when the connection ended with a reset rather than an orderly close.</summary>
    public bool WasReset { get; private set; }

    /// <summary>Connects to 127.0.0.1:<paramref name="port"/>.</summary>
    public static async Task<RawClient> ConnectAsync(int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, port), cts.Token);
        return new RawClient(socket);
    }

    /// <summary>Connects, sends <paramref name="request"/> (Latin-1: one char, one byte) and reads one response.</summary>
    public static async Task<RawResponse> SendAsync(int port, string request, TimeSpan? timeout = null)
    {
        await using var client = await ConnectAsync(port);
        await client.WriteAsync(request);
        return await client.ReadResponseAsync(timeout);
    }

    /// <summary>Sends <paramref name="text"/> as Latin-1 bytes, exactly as given.</summary>
    public Task WriteAsync(string text) => WriteAsync(Encoding.Latin1.GetBytes(text));

    /// <summary>Sends <paramref name="bytes"/> exactly as given.</summary>
    public async Task WriteAsync(ReadOnlyMemory<byte> bytes)
    {
        using var cts = new CancellationTokenSource(DefaultTimeout);
        await _stream.WriteAsync(bytes, cts.Token);
    }

    /// <summary>
    /// Reads one response. A response cut short (the connection ended before the framing said it was
    /// complete) comes back with <see cref="RawResponse.Complete"/> false; a connection that ends before a
    /// status line comes back with status 0. Throws <see cref="TimeoutException"/> if the server neither
    /// finishes nor closes within <paramref name="timeout"/>.
    /// </summary>
    public async Task<RawResponse> ReadResponseAsync(TimeSpan? timeout = null, bool headRequest = false)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        var raw = new MemoryStream();
        var headEnd = await FillUntilAsync(() => IndexOf(_pending, "\r\n\r\n"u8), cts.Token);
        if (headEnd < 0)
        {
            var partial = Take(_pending.Length);
            return new RawResponse(0, "", [], [], Complete: false, Encoding.Latin1.GetString(partial));
        }

        var headBytes = Take(headEnd + 4);
        raw.Write(headBytes);
        var head = Encoding.Latin1.GetString(headBytes, 0, headEnd);
        var lines = head.Split("\r\n");
        var statusLine = lines[0];
        var parts = statusLine.Split(' ', 3);
        var status = parts.Length >= 2 && int.TryParse(parts[1], out var s) ? s : -1;
        var headers = new List<KeyValuePair<string, string>>();
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            headers.Add(colon < 0 ? new(line, "") : new(line[..colon], line[(colon + 1)..].Trim()));
        }

        var response = new RawResponse(status, statusLine, headers, [], Complete: false, "");
        var body = new MemoryStream();
        bool complete;
        if (headRequest || status is (>= 100 and < 200) or 204 or 304)
        {
            complete = true;
        }
        else if (response.Header("Transfer-Encoding") is { } te && te.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            complete = await ReadChunkedAsync(body, raw, cts.Token);
        }
        else if (response.Header("Content-Length") is { } cl && long.TryParse(cl, out var length))
        {
            var have = await FillUntilAsync(() => _pending.Length >= length ? (int)length : -1, cts.Token);
            var bytes = Take(have >= 0 ? have : _pending.Length);
            body.Write(bytes);
            raw.Write(bytes);
            complete = have >= 0;
        }
        else
        {
            // Delimited by the end of the connection: complete only if it ends with an orderly close.
            await FillUntilAsync(() => -1, cts.Token);
            var bytes = Take(_pending.Length);
            body.Write(bytes);
            raw.Write(bytes);
            complete = !WasReset;
        }

        return response with { Body = body.ToArray(), Complete = complete, Raw = Encoding.Latin1.GetString(raw.ToArray()) };
    }

    /// <summary>Waits until the server closes or resets the connection; false if it is still open after <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForCloseAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            await FillUntilAsync(() => -1, cts.Token);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    private async Task<bool> ReadChunkedAsync(MemoryStream body, MemoryStream raw, CancellationToken cancellation)
    {
        while (true)
        {
            var lineEnd = await FillUntilAsync(() => IndexOf(_pending, "\r\n"u8), cancellation);
            if (lineEnd < 0)
            {
                raw.Write(Take(_pending.Length));
                return false;
            }

            var lineBytes = Take(lineEnd + 2);
            raw.Write(lineBytes);
            var sizeText = Encoding.Latin1.GetString(lineBytes, 0, lineEnd).Split(';')[0].Trim();
            if (!int.TryParse(sizeText, System.Globalization.NumberStyles.HexNumber, null, out var size))
            {
                return false;
            }

            if (size == 0)
            {
                // Trailers, then an empty line.
                while (true)
                {
                    var end = await FillUntilAsync(() => IndexOf(_pending, "\r\n"u8), cancellation);
                    if (end < 0)
                    {
                        raw.Write(Take(_pending.Length));
                        return false;
                    }

                    raw.Write(Take(end + 2));
                    if (end == 0)
                    {
                        return true;
                    }
                }
            }

            var have = await FillUntilAsync(() => _pending.Length >= size + 2 ? size + 2 : -1, cancellation);
            if (have < 0)
            {
                var rest = Take(_pending.Length);
                raw.Write(rest);
                body.Write(rest, 0, Math.Min(rest.Length, size));
                return false;
            }

            var chunk = Take(size + 2);
            raw.Write(chunk);
            body.Write(chunk, 0, size);
        }
    }

    /// <summary>Reads until <paramref name="found"/> returns a non-negative value (returned) or the connection ends (-1).</summary>
    private async Task<int> FillUntilAsync(Func<int> found, CancellationToken cancellation)
    {
        while (true)
        {
            var at = found();
            if (at >= 0 || _ended)
            {
                return at;
            }

            int read;
            try
            {
                read = await _stream.ReadAsync(_buffer, cancellation);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("The server neither completed the response nor closed the connection in time.");
            }
            catch (IOException)
            {
                WasReset = true;
                read = 0;
            }

            if (read == 0)
            {
                _ended = true;
                continue;
            }

            _pending.Seek(0, SeekOrigin.End);
            _pending.Write(_buffer, 0, read);
        }
    }

    private byte[] Take(long count)
    {
        var all = _pending.ToArray();
        var taken = all[..(int)count];
        _pending.SetLength(0);
        _pending.Write(all, (int)count, all.Length - (int)count);
        return taken;
    }

    private static int IndexOf(MemoryStream stream, ReadOnlySpan<byte> value) =>
        stream.GetBuffer().AsSpan(0, (int)stream.Length).IndexOf(value);

    /// <summary>Closes the connection at once (the server sees a reset rather than an orderly close).</summary>
    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public ValueTask DisposeAsync()
    {
        _stream.Dispose();
        _socket.Dispose();
        _pending.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>One response as <see cref="RawClient"/> read it.</summary>
/// <param name="StatusCode">The status code; 0 when the connection ended before a status line.</param>
/// <param name="Complete">True when the body ended where its framing said (Content-Length reached, final chunk seen, or an orderly close).</param>
/// <param name="Raw">The bytes of this response as Latin-1 text.</param>
internal sealed record RawResponse(int StatusCode, string StatusLine, IReadOnlyList<KeyValuePair<string, string>> Headers, byte[] Body, bool Complete, string Raw)
{
    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);

    /// <summary>The first value of header <paramref name="name"/> (case-insensitive), or null.</summary>
    public string? Header(string name)
    {
        foreach (var (key, value) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        return null;
    }
}
