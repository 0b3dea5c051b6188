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
    private readonly List<string> _heads = [];
    private readonly Task _accept;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _accepted;
    private int _ended;

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

    /// <summary>
    /// The request heads received so far, in order (request line, headers, blank line). Bodies are skipped by
    /// their Content-Length or chunked framing, so a request smuggled inside a body is not listed here, though
    /// its bytes are in <see cref="Received"/>.
    /// </summary>
    public IReadOnlyList<string> RequestHeads
    {
        get
        {
            lock (_lock)
            {
                return [.. _heads];
            }
        }
    }

    /// <summary>Connections accepted so far.</summary>
    public int Connections => Volatile.Read(ref _accepted);

    /// <summary>Connections that have ended (closed or reset by the gateway) so far.</summary>
    public int ClosedConnections => Volatile.Read(ref _ended);

    /// <summary>
    /// Waits until <paramref name="condition"/> holds for <see cref="Received"/>; false if it still does not
    /// after <paramref name="timeout"/>. Woken by every byte received and every connection that ends.
    /// </summary>
    public async Task<bool> WaitForAsync(Func<string, bool> condition, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (condition(_received.ToString()))
                {
                    return true;
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                lock (_lock)
                {
                    return condition(_received.ToString());
                }
            }
        }
    }

    /// <summary>Waits until every accepted connection has ended; false if one is still open after <paramref name="timeout"/>.</summary>
    public Task<bool> WaitForAllClosedAsync(TimeSpan timeout) =>
        WaitForAsync(_ => Volatile.Read(ref _ended) == Volatile.Read(ref _accepted), timeout);

    /// <summary>Answers every request head with <c>200 OK</c> and body "ok".</summary>
    public static RawBackend StartOk() => Start(async (stream, _, ct) =>
        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"u8.ToArray(), ct));

    /// <summary>
    /// Runs <paramref name="respond"/> with the connection's stream and each request head it read, as soon as
    /// the head is complete (before the body, which is recorded as it arrives).
    /// </summary>
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
                _accepted++;
                _connections.Add(HandleAsync(client));
                Changed();
            }
        }
    }

    private async Task HandleAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        var buffer = new byte[64 * 1024];
        var framer = new Http1RequestFramer();
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
                var heads = framer.Append(text);
                lock (_lock)
                {
                    _received.Append(text);
                    _heads.AddRange(heads);
                    Changed();
                }

                foreach (var requestHead in heads)
                {
                    await _respond(stream, requestHead, _stop.Token);
                }
            }
        }
        catch (Exception)
        {
            // The gateway closed or reset the connection; the test looks at what was received.
        }
        finally
        {
            lock (_lock)
            {
                _ended++;
                Changed();
            }
        }
    }

    // Called under _lock: wakes every waiter, who re-checks its condition.
    private void Changed()
    {
        var previous = _changed;
        _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        previous.TrySetResult();
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
