using System.Net;
using System.Net.WebSockets;
using System.Text;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Forwarding;

/// <summary>WebSocket upgrades are tunnelled to the upstream; a refused upgrade is an ordinary response.</summary>
public sealed class WebSocketForwardingTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task WebSocket_MessagesEchoThroughGatewayAndCloseCleanly()
    {
        var upstreamClose = new TaskCompletionSource<WebSocketCloseStatus?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await StartEchoBackendAsync(upstreamClose);
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var cancel = new CancellationTokenSource(Patience);
        using var client = new ClientWebSocket();
        client.Options.Proxy = null;

        await client.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.Port}/chat?room=1"), cancel.Token);
        var replies = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            var text = $"message {i} " + new string('x', i * 10_000);
            await client.SendAsync(Encoding.UTF8.GetBytes(text), WebSocketMessageType.Text, endOfMessage: true, cancel.Token);
            replies.Add(await ReceiveTextAsync(client, cancel.Token));
        }

        await client.SendAsync(new byte[] { 0, 1, 2, 255 }, WebSocketMessageType.Binary, endOfMessage: true, cancel.Token);
        var binary = new byte[16];
        var binaryResult = await client.ReceiveAsync(binary, cancel.Token);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cancel.Token);

        Assert.Equal(Enumerable.Range(0, 5).Select(i => $"message {i} " + new string('x', i * 10_000)), replies);
        Assert.Equal(WebSocketMessageType.Binary, binaryResult.MessageType);
        Assert.Equal(new byte[] { 0, 1, 2, 255 }, binary[..binaryResult.Count]);
        Assert.Equal(WebSocketState.Closed, client.State);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        Assert.Equal("bye", client.CloseStatusDescription);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await upstreamClose.Task.WaitAsync(Patience));
    }

    [Fact]
    public async Task WebSocketOverHttp2_ExtendedConnect_IsTunnelledToHttp11Upstream()
    {
        // RFC 8441: over HTTP/2 a WebSocket opens with CONNECT + :protocol=websocket, not with Upgrade. Kestrel
        // offers it on every HTTP/2 listener, and browsers use it when offered.
        var upstreamClose = new TaskCompletionSource<WebSocketCloseStatus?>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await StartEchoBackendAsync(upstreamClose);
        await using var gateway = await TestGateway.StartAsync(Http2ForwardingTests.H2cFrontYaml(backend.Url, "http1"));
        using var cancel = new CancellationTokenSource(Patience);
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler { UseProxy = false });
        using var client = await ConnectOverHttp2Async(gateway.Port, invoker, cancel.Token);
        await client.SendAsync(Encoding.UTF8.GetBytes("over h2"), WebSocketMessageType.Text, endOfMessage: true, cancel.Token);
        var reply = await ReceiveTextAsync(client, cancel.Token);
        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", cancel.Token);

        Assert.Equal("over h2", reply);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.CloseStatus);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, await upstreamClose.Task.WaitAsync(Patience));
    }

    [Theory]
    [InlineData("set: { Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ== }", "dGhlIHNhbXBsZSBub25jZQ==")]
    [InlineData("remove: [Sec-WebSocket-Key]", null)]
    public async Task WebSocketOverHttp2_ARouteTransformOfTheKey_IsTheOnlyKeyUpstream(string change, string? expected)
    {
        // Over HTTP/2 the client sends no key and the gateway makes one for the HTTP/1.1 handshake upstream; a route
        // transform that sets or removes the key decides it instead (one value, never the gateway's beside it).
        await using var backend = RawBackend.Start(async (stream, _, ct) =>
            await stream.WriteAsync("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"u8.ToArray(), ct));
        var yaml = Http2ForwardingTests.H2cFrontYaml(backend.Url, "http1")
            + "\n    policies: { transform: { request: { headers: { " + change + " } } } }\n";
        await using var gateway = await TestGateway.StartAsync(yaml);
        using var cancel = new CancellationTokenSource(Patience);
        using var invoker = new HttpMessageInvoker(new SocketsHttpHandler { UseProxy = false });
        using var client = await ConnectOverHttp2Async(gateway.Port, invoker, cancel.Token);

        var head = Assert.Single(backend.RequestHeads);
        var keys = head.Split("\r\n").Where(l => l.StartsWith("Sec-WebSocket-Key:", StringComparison.OrdinalIgnoreCase)).ToList();
        if (expected is null)
        {
            Assert.Empty(keys);
        }
        else
        {
            Assert.Equal(expected, Assert.Single(keys)["Sec-WebSocket-Key:".Length..].Trim());
        }
    }

    [Fact]
    public async Task UpgradeRefusedByUpstream_IsPassedBackAsOrdinaryResponse()
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            context.Response.Headers["X-Reason"] = "no sockets for you";
            await context.Response.WriteAsync("upgrade refused");
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var cancel = new CancellationTokenSource(Patience);
        using var client = new ClientWebSocket();
        client.Options.Proxy = null;
        client.Options.CollectHttpResponseDetails = true;

        await Assert.ThrowsAsync<WebSocketException>(() => client.ConnectAsync(new Uri($"ws://127.0.0.1:{gateway.Port}/chat"), cancel.Token));
        var raw = await RawRoundTrip.SendAsync(gateway.Port,
            "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade, close\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\n" +
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");

        Assert.Equal(HttpStatusCode.Forbidden, client.HttpStatusCode);
        Assert.Equal("no sockets for you", client.HttpResponseHeaders!["X-Reason"].Single());
        Assert.StartsWith("HTTP/1.1 403 ", raw, StringComparison.Ordinal);
        Assert.Contains("upgrade refused", raw, StringComparison.Ordinal);
        Assert.Null(RawRoundTrip.Header(raw, "Upgrade"));
    }

    /// <summary>An upstream that accepts WebSockets and echoes every message; reports the close status it received.</summary>
    // RFC 8441's extended CONNECT: HTTP/2 exactly, as a browser does when the server offers it.
    private static async Task<ClientWebSocket> ConnectOverHttp2Async(int port, HttpMessageInvoker invoker, CancellationToken cancellationToken)
    {
        var client = new ClientWebSocket();
        client.Options.HttpVersion = HttpVersion.Version20;
        client.Options.HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact;
        try
        {
            await client.ConnectAsync(new Uri($"ws://127.0.0.1:{port}/chat"), invoker, cancellationToken);
            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    private static Task<TestBackend> StartEchoBackendAsync(TaskCompletionSource<WebSocketCloseStatus?> closed) => TestBackend.StartAsync(app =>
    {
        app.UseWebSockets();
        app.Run(async context =>
        {
            if (!context.WebSockets.IsWebSocketRequest)
            {
                context.Response.StatusCode = StatusCodes.Status400BadRequest;
                return;
            }

            using var socket = await context.WebSockets.AcceptWebSocketAsync();
            closed.TrySetResult(await EchoUntilClosedAsync(socket));
        });
    });

    private static async Task<WebSocketCloseStatus?> EchoUntilClosedAsync(WebSocket socket)
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        while (true)
        {
            var result = await socket.ReceiveAsync(buffer, CancellationToken.None);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(result.CloseStatus ?? WebSocketCloseStatus.NormalClosure, result.CloseStatusDescription, CancellationToken.None);
                return result.CloseStatus;
            }

            message.Write(buffer, 0, result.Count);
            if (result.EndOfMessage)
            {
                await socket.SendAsync(message.ToArray(), result.MessageType, endOfMessage: true, CancellationToken.None);
                message.SetLength(0);
            }
        }
    }

    private static async Task<string> ReceiveTextAsync(WebSocket socket, CancellationToken cancellationToken)
    {
        var buffer = new byte[64 * 1024];
        var message = new MemoryStream();
        WebSocketReceiveResult result;
        do
        {
            result = await socket.ReceiveAsync(buffer, cancellationToken);
            Assert.Equal(WebSocketMessageType.Text, result.MessageType);
            message.Write(buffer, 0, result.Count);
        }
        while (!result.EndOfMessage);

        return Encoding.UTF8.GetString(message.ToArray());
    }
}
