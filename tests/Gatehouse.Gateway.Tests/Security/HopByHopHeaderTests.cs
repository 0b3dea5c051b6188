using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Security;

/// <summary>
/// Hop-by-hop headers and <c>Connection</c> abuse. A client that lists the gateway's own headers in
/// <c>Connection</c> ("please drop X-Forwarded-For") must not make them disappear, headers it lists must
/// not travel further, and connection-level headers never reach the upstream.
/// <list type="table">
/// <listheader><term>input</term><description>upstream receives</description></listheader>
/// <item><term><c>Connection: X-Custom, Authorization, X-Request-Id, X-Forwarded-*, Host, Content-Type</c></term>
/// <description>no X-Custom, Authorization, Content-Type or Connection; the gateway's X-Request-Id, X-Forwarded-For/Proto/Host
/// and Host (set after the copy, so a Connection token cannot remove them)</description></item>
/// <item><term><c>Keep-Alive</c>, <c>Proxy-Connection</c>, <c>Proxy-Authorization</c>, <c>TE</c>, <c>Trailer</c>,
/// <c>Upgrade</c> without <c>Connection: upgrade</c>, <c>HTTP2-Settings</c>, <c>Connection: close</c></term>
/// <description>none of them</description></item>
/// <item><term><c>Connection: Upgrade, HTTP2-Settings</c> + <c>Upgrade: h2c</c> (h2c smuggling)</term>
/// <description>a plain request without Upgrade, Connection or HTTP2-Settings: the gateway never tunnels h2c, so a client
/// cannot open an HTTP/2 connection straight to the upstream that bypasses routing</description></item>
/// <item><term><c>Connection: Upgrade</c> without an Upgrade header</term>
/// <description>a plain request without Connection (Kestrel calls it upgradable; the gateway does not)</description></item>
/// <item><term><c>Connection: Upgrade</c> + <c>Upgrade: websocket</c></term>
/// <description>Connection: Upgrade and Upgrade: websocket (upgrades other than h2c still work)</description></item>
/// <item><term><c>Connection: keep-alive, X-Custom</c> (known gap)</term>
/// <description>Kestrel replaces a Connection value that holds exactly one of keep-alive/close/upgrade with that
/// token alone (<c>HttpHeaders.ParseConnection</c>), so the gateway never sees "X-Custom" and forwards that header.
/// The gateway's own headers still arrive; see the test below.</description></item>
/// </list>
/// </summary>
public sealed class HopByHopHeaderTests
{
    [Fact]
    public async Task ConnectionNamesGatewayHeaders_ClientNamedRemoved_GatewayHeadersStillArrive()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        // No keep-alive/close/upgrade token: Kestrel then leaves the Connection value as sent (see the class doc).
        var response = await RawClient.SendAsync(gateway.Port,
            "POST /hop HTTP/1.1\r\nHost: client.example\r\n" +
            "Connection: X-Custom, Authorization, X-Request-Id, X-Forwarded-For, X-Forwarded-Proto, X-Forwarded-Host, Host, Content-Type\r\n" +
            "X-Custom: secret\r\nAuthorization: Bearer abc\r\nX-Request-Id: client-id-1\r\nX-Forwarded-For: 10.9.9.9\r\n" +
            "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nhi");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        UpstreamAssert.WellFormedHead(head);
        Assert.Null(UpstreamAssert.HeaderIn(head, "X-Custom"));
        Assert.Null(UpstreamAssert.HeaderIn(head, "Authorization"));
        Assert.Null(UpstreamAssert.HeaderIn(head, "Content-Type"));
        Assert.Null(UpstreamAssert.HeaderIn(head, "Connection"));
        Assert.Equal(response.Header("X-Request-Id"), UpstreamAssert.HeaderIn(head, "X-Request-Id"));
        Assert.Equal("127.0.0.1", UpstreamAssert.HeaderIn(head, "X-Forwarded-For"));
        Assert.Equal("http", UpstreamAssert.HeaderIn(head, "X-Forwarded-Proto"));
        Assert.Equal("client.example", UpstreamAssert.HeaderIn(head, "X-Forwarded-Host"));
        Assert.Equal(new Uri(backend.Url).Authority, UpstreamAssert.HeaderIn(head, "Host"));
        Assert.Equal("2", UpstreamAssert.HeaderIn(head, "Content-Length"));
        Assert.EndsWith("\r\n\r\nhi", backend.Received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectionWithKeepAliveToken_GatewayHeadersStillArrive_NoConnectionHeaderUpstream()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port,
            "GET /hop HTTP/1.1\r\nHost: client.example\r\nConnection: keep-alive, X-Request-Id, X-Forwarded-For, X-Forwarded-Host, Host\r\n" +
            "X-Forwarded-For: 10.9.9.9\r\nX-Forwarded-Host: evil.example\r\nKeep-Alive: timeout=5\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        UpstreamAssert.WellFormedHead(head);
        Assert.Null(UpstreamAssert.HeaderIn(head, "Connection"));
        Assert.Null(UpstreamAssert.HeaderIn(head, "Keep-Alive"));
        Assert.Equal(32, UpstreamAssert.HeaderIn(head, "X-Request-Id")?.Length);
        Assert.Equal("127.0.0.1", UpstreamAssert.HeaderIn(head, "X-Forwarded-For"));
        Assert.Equal("client.example", UpstreamAssert.HeaderIn(head, "X-Forwarded-Host"));
        Assert.Equal(new Uri(backend.Url).Authority, UpstreamAssert.HeaderIn(head, "Host"));
    }

    [Theory]
    [InlineData("Keep-Alive: timeout=5, max=100", "Keep-Alive")]
    [InlineData("Proxy-Connection: keep-alive", "Proxy-Connection")]
    [InlineData("Proxy-Authorization: Basic eDp5", "Proxy-Authorization")]
    [InlineData("TE: trailers", "TE")]
    [InlineData("TE: gzip, chunked", "TE")]
    [InlineData("Trailer: X-Checksum", "Trailer")]
    [InlineData("Upgrade: websocket", "Upgrade")]
    [InlineData("Upgrade: h2c", "Upgrade")]
    [InlineData("HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA", "HTTP2-Settings")]
    [InlineData("Connection: close", "Connection")]
    [InlineData("Connection: keep-alive", "Connection")]
    [InlineData("Connection: Upgrade", "Connection")]
    public async Task HopByHopHeader_NeverReachesUpstream(string header, string name)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"GET /hop HTTP/1.1\r\nHost: x\r\n{header}\r\nX-Marker: 1\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        UpstreamAssert.WellFormedHead(head);
        Assert.Equal("1", UpstreamAssert.HeaderIn(head, "X-Marker"));
        Assert.Null(UpstreamAssert.HeaderIn(head, name));
    }

    [Fact]
    public async Task H2cUpgrade_IsNotTunnelled_UpstreamGetsPlainRequest()
    {
        // An upstream that speaks h2c: it switches protocols whenever it is offered "Upgrade: h2c".
        await using var backend = RawBackend.Start(async (stream, head, ct) =>
        {
            var response = head.Contains("\r\nUpgrade: h2c", StringComparison.OrdinalIgnoreCase)
                ? "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n"
                : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            await stream.WriteAsync(System.Text.Encoding.Latin1.GetBytes(response), ct);
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port,
            "GET /admin-only-via-h2 HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        Assert.Equal("ok", response.BodyText);
        var head = Assert.Single(backend.RequestHeads);
        UpstreamAssert.WellFormedHead(head);
        Assert.Null(UpstreamAssert.HeaderIn(head, "Upgrade"));
        Assert.Null(UpstreamAssert.HeaderIn(head, "Connection"));
        Assert.Null(UpstreamAssert.HeaderIn(head, "HTTP2-Settings"));
        Assert.Null(UpstreamAssert.HeaderIn(head, "Transfer-Encoding")); // the client's later bytes are not streamed up as a body
        Assert.Null(UpstreamAssert.HeaderIn(head, "Content-Length"));
        Assert.Equal(head, backend.Received);
    }

    [Fact]
    public async Task WebSocketUpgrade_IsStillForwarded()
    {
        // The positive control for the h2c test: an ordinary upgrade keeps its Connection and Upgrade headers.
        await using var backend = RawBackend.Start(async (stream, head, ct) =>
            await stream.WriteAsync("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"u8.ToArray(), ct));
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port,
            "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");

        Assert.Equal(101, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        Assert.Equal("Upgrade", UpstreamAssert.HeaderIn(head, "Connection"));
        Assert.Equal("websocket", UpstreamAssert.HeaderIn(head, "Upgrade"));
    }
}
