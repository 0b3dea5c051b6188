using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>
/// An upstream made of a bare socket: it records every byte it receives (so tests can check what really
/// reached the wire) and answers each request with a fixed HTTP/1.1 response, or runs a custom script.
/// </summary>
internal sealed class RawBackend : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Func<NetworkStream, string, CancellationToken, Task> _respond;
    private readonly List<Task> _connections = [];
    private readonly Lock _lock = new();
    private readonly StringBuilder _received = new();
    private readonly Task _accept;

    private RawBackend(Func<NetworkStream, string, CancellationToken, Task> respond)
    {
        _respond = respond;
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        _accept = AcceptLoopAsync();
    }

    public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

    /// <summary>Everything received so far, as Latin-1 text (bytes preserved one to one).</summary>
    public string Received
    {
        get
        {
            lock (_lock)
            {
                return _received.ToString();
            }
        }
    }

    /// <summary>Answers every request head with <c>200 OK</c> and body "ok".</summary>
    public static RawBackend StartOk() => Start(async (stream, _, ct) =>
        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray(), ct));

    /// <summary>Runs <paramref name="respond"/> with the connection's stream and the request head it read.</summary>
    public static RawBackend Start(Func<NetworkStream, string, CancellationToken, Task> respond) => new(respond);

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception)
            {
                return;
            }

            lock (_lock)
            {
                _connections.Add(HandleAsync(client));
            }
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var buffer = new byte[64 * 1024];
        var head = new StringBuilder();
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var read = await stream.ReadAsync(buffer, _stop.Token);
                if (read == 0)
                {
                    return;
                }

                var text = Encoding.Latin1.GetString(buffer, 0, read);
                lock (_lock)
                {
                    _received.Append(text);
                }

                head.Append(text);
                var end = head.ToString().IndexOf("\r\n\r\n", StringComparison.Ordinal);
                if (end >= 0)
                {
                    var requestHead = head.ToString(0, end + 4);
                    head.Remove(0, end + 4);
                    await _respond(stream, requestHead, _stop.Token);
                }
            }
        }
        catch (Exception)
        {
            // The gateway closed or reset the connection; the test looks at what was received.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accept;
        Task[] pending;
        lock (_lock)
        {
            pending = [.. _connections];
        }

        await Task.WhenAll(pending);
        _stop.Dispose();
    }
}
