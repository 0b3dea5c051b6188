using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Bench.Compose;

/// <summary>
/// A backend that answers instantly and costs as little CPU as an HTTP/1.1 server can: a socket loop that reads a GET's
/// head and writes stored response bytes, fetched once per path and query from the real service. It shares the
/// machine's two cores with the gateway, so every microsecond it spends is taken from the gateway; a Kestrel app
/// replaying the same bytes spent about 40 µs of CPU per exchange. Hand-written because it must do nothing else: no
/// routing, no headers object, no request body (anything but a GET without a body is refused and the connection closed).
/// </summary>
internal sealed class InstantBackend : IAsyncDisposable
{
    private static readonly byte[] HeadEnd = "\r\n\r\n"u8.ToArray();
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly HttpClient _fetch;
    private readonly ConcurrentDictionary<string, Task<byte[]>> _answers = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;

    private InstantBackend(string origin)
    {
        _fetch = new HttpClient { BaseAddress = new Uri(origin) };
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _listener.Listen(512);
        Url = $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndPoint!).Port}";
        _accepting = AcceptAsync();
    }

    public string Url { get; }

    public static InstantBackend Start(string origin) => new(origin);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Dispose();
        await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
        _fetch.Dispose();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket connection;
            try
            {
                connection = await _listener.AcceptAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }

            connection.NoDelay = true;
            _ = ServeAsync(connection);
        }
    }

    private async Task ServeAsync(Socket connection)
    {
        using var _ = connection;
        var buffer = new byte[16 * 1024];
        var filled = 0;
        try
        {
            while (true)
            {
                var read = await connection.ReceiveAsync(buffer.AsMemory(filled), _stop.Token);
                if (read == 0)
                {
                    return;
                }

                filled += read;
                int end;
                while ((end = buffer.AsSpan(0, filled).IndexOf(HeadEnd)) >= 0)
                {
                    var target = Target(buffer.AsSpan(0, end));
                    if (target is null)
                    {
                        await connection.SendAsync("HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), _stop.Token);
                        return;
                    }

                    await connection.SendAsync(await _answers.GetOrAdd(target, FetchAsync), _stop.Token);
                    var consumed = end + HeadEnd.Length;
                    buffer.AsSpan(consumed, filled - consumed).CopyTo(buffer);
                    filled -= consumed;
                }

                if (filled == buffer.Length)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
        {
        }
    }

    /// <summary>The target of a GET without a body, or null for anything else.</summary>
    private static string? Target(ReadOnlySpan<byte> head)
    {
        var eol = head.IndexOf("\r\n"u8);
        var line = eol >= 0 ? head[..eol] : head;
        if (!line.StartsWith("GET "u8))
        {
            return null;
        }

        // Header names in any case: a body announced either way is refused.
        for (var rest = eol >= 0 ? head[(eol + 2)..] : []; !rest.IsEmpty;)
        {
            var end = rest.IndexOf("\r\n"u8);
            var header = end >= 0 ? rest[..end] : rest;
            var colon = header.IndexOf((byte)':');
            if (colon > 0 && (Ascii.EqualsIgnoreCase(header[..colon], "content-length"u8) || Ascii.EqualsIgnoreCase(header[..colon], "transfer-encoding"u8)))
            {
                return null;
            }

            rest = end >= 0 ? rest[(end + 2)..] : [];
        }

        var target = line[4..];
        var space = target.IndexOf((byte)' ');
        return space > 0 ? Encoding.ASCII.GetString(target[..space]) : null;
    }

    private async Task<byte[]> FetchAsync(string target)
    {
        using var response = await _fetch.GetAsync(target);
        var body = await response.Content.ReadAsByteArrayAsync();
        var head = new StringBuilder().Append(CultureInfo.InvariantCulture, $"HTTP/1.1 {(int)response.StatusCode} {response.ReasonPhrase}\r\n");
        if (response.Content.Headers.ContentType is { } type)
        {
            head.Append(CultureInfo.InvariantCulture, $"Content-Type: {type}\r\n");
        }

        head.Append(CultureInfo.InvariantCulture, $"Content-Length: {body.Length}\r\n\r\n");
        return [.. Encoding.ASCII.GetBytes(head.ToString()), .. body];
    }
}
