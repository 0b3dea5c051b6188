using System.Net;
using System.Text;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Security;

/// <summary>
/// The five forwarding flaws of issue 16, each checked on the upstream's wire:
/// <list type="bullet">
/// <item>F1: a query with a non-ASCII character, SP, HTAB or <c>#</c> from an HTTP/2 client made SocketsHttpHandler write
/// stale bytes of the pooled connection's buffer upstream (other clients' queries, cookies and credentials). The query is
/// now percent-encoded where it must be, and the connection stays in step.</item>
/// <item>F2: a header value the upstream request cannot carry (non-ASCII), or an extended CONNECT for a protocol the route
/// does not tunnel, was answered 502 and charged to passive health, so anonymous requests could eject healthy targets.</item>
/// <item>F3: <c>Gatehouse_Plan</c> and friends reached services that read <c>_</c> as <c>-</c>.</item>
/// <item>F4: CTLs other than CR, LF and NUL reached the upstream in header values and in the query.</item>
/// <item>F5: any Upgrade token other than exactly <c>h2c</c> was tunnelled.</item>
/// </list>
/// </summary>
[Trait("Issue", "16")]
public sealed class ForwardingFlawTests
{
    /// <summary>An upstream that answers every request with its own request line, so a response shows which request it answers.</summary>
    private static RawBackend StartLineEcho() => RawBackend.Start(async (stream, head, ct) =>
    {
        var line = Encoding.Latin1.GetBytes(head[..head.IndexOf("\r\n", StringComparison.Ordinal)]);
        await stream.WriteAsync(Encoding.Latin1.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {line.Length}\r\n\r\n"), ct);
        await stream.WriteAsync(line, ct);
    });

    private static string Yaml(string backendUrl, string gatewayExtra = "", string routeExtra = "", IssuedCertificate? tls = null) => $$"""
        version: 1
        gateway:
          listeners:
            - url: http://127.0.0.1:0
            - url: {{(tls is null ? "http" : "https")}}://127.0.0.1:0
              {{(tls is null ? "protocols: http2" : $"certificate: {{ certFile: {tls.CertFile}, keyFile: {tls.KeyFile} }}")}}
        {{gatewayExtra}}
        services:
          backend:
            targets: [{{backendUrl}}]
            healthCheck:
              passive: { consecutiveFailures: 3, cooldown: 60s }
        routes:
          all:
            path: /{**rest}
            service: backend
        {{routeExtra}}
        """;

    private static int SecondPort(TestGateway gateway) => new Uri(gateway.Host.Urls[1]).Port;

    private static (byte[], byte[])[] H2Get(string authority, byte[] path, params (string Name, string Value)[] extra) =>
        H2Get(false, authority, path, extra);

    private static (byte[], byte[])[] H2Get(bool tls, string authority, byte[] path, params (string Name, string Value)[] extra) =>
    [
        (":method"u8.ToArray(), "GET"u8.ToArray()),
        (":scheme"u8.ToArray(), tls ? "https"u8.ToArray() : "http"u8.ToArray()),
        (":authority"u8.ToArray(), Encoding.ASCII.GetBytes(authority)),
        (":path"u8.ToArray(), path),
        .. extra.Select(e => (Encoding.Latin1.GetBytes(e.Name), Encoding.UTF8.GetBytes(e.Value))),
    ];

    public static TheoryData<string, string, bool> F1Queries => new()
    {
        // query as the client's raw bytes (Latin-1 text of UTF-8), what the upstream must see, over TLS or h2c
        { "?\u00c3\u00a9" + new string('A', 300), "?%C3%A9" + new string('A', 300), false },
        { "?\u00c3\u00a9" + new string('A', 300), "?%C3%A9" + new string('A', 300), true },
        { "?a b", "?a%20b", false },
        { "?a b", "?a%20b", true },
        { "?a\tb", "?a%09b", false },
        { "?a\tb", "?a%09b", true },
        { "?#", "?%23", false },
        { "?#", "?%23", true },
        { "?x=\u00e2\u0082\u00ac&y=%41", "?x=%E2%82%AC&y=%41", false },
    };

    [Theory]
    [MemberData(nameof(F1Queries))]
    public async Task F1_Http2QueryWithUnsafeBytes_ReachesUpstreamPercentEncoded_AndTheConnectionStaysInStep(string rawQuery, string expected, bool tls)
    {
        using var pki = tls ? new TestPki() : null;
        var certificate = pki?.IssueServer("localhost");
        await using var backend = StartLineEcho();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, tls: certificate));

        // A victim's request first, so the pooled upstream connection's buffer holds its secrets.
        using var victim = new HttpRequestMessage(HttpMethod.Get, "/victim?token=VICTIM-SECRET");
        victim.Headers.Add("Cookie", "session=VICTIM-COOKIE");
        using (var victimResponse = await gateway.Client.SendAsync(victim))
        {
            Assert.Equal("GET /victim?token=VICTIM-SECRET HTTP/1.1", await victimResponse.Content.ReadAsStringAsync());
        }

        var outcome = await RawHttp2Client.SendAsync(SecondPort(gateway), H2Get(tls, "localhost", Encoding.Latin1.GetBytes("/echo" + rawQuery)), null, tls);

        Assert.Equal(200, outcome.Status);
        Assert.Equal($"GET /echo{expected} HTTP/1.1", Encoding.Latin1.GetString(outcome.Body!));
        var heads = backend.RequestHeads;
        Assert.Equal(2, heads.Count);
        Assert.StartsWith($"GET /echo{expected} HTTP/1.1\r\n", heads[1], StringComparison.Ordinal);
        UpstreamAssert.WellFormedHead(heads[1]);
        Assert.DoesNotContain("VICTIM", heads[1], StringComparison.Ordinal);

        // The follow-up on the same upstream connection gets its own answer: the stream was never out of step.
        using var followUp = await gateway.Client.GetAsync("/follow-up");
        Assert.Equal("GET /follow-up HTTP/1.1", await followUp.Content.ReadAsStringAsync());
        Assert.Equal(1, backend.Connections);
        Assert.Equal(string.Concat(backend.RequestHeads), backend.Received);
    }

    [Theory]
    [InlineData("a\u0001b", "?q=a%01b")]
    [InlineData("a\u000bb", "?q=a%0Bb")]
    [InlineData("a\u000cb", "?q=a%0Cb")]
    [InlineData("a\u007fb", "?q=a%7Fb")]
    [InlineData("a#b", "?q=a%23b")]
    public async Task F4_Http1QueryWithControlCharacter_ReachesUpstreamPercentEncoded(string value, string expected)
    {
        await using var backend = StartLineEcho();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"GET /q?q={value} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        Assert.StartsWith($"GET /q{expected} HTTP/1.1\r\n", head, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a\u0001b")]
    [InlineData("a\u000bb")]
    [InlineData("a\u000cb")]
    [InlineData("a\u007fb")]
    [InlineData("a\u001fb")]
    public async Task F4_Http1HeaderValueWithControlCharacter_400_NothingReachesUpstream(string value)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"GET /attack HTTP/1.1\r\nHost: x\r\nX-Note: {value}\r\nConnection: close\r\n\r\n");

        Assert.Equal(400, response.StatusCode);
        Assert.Contains("bad-header", response.BodyText, StringComparison.Ordinal);
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, gateway.Client);
    }

    [Theory]
    [InlineData("a\u0001b")]
    [InlineData("a\u000bb")]
    [InlineData("a\u000cb")]
    [InlineData("a\u007fb")]
    public async Task F4_Http2HeaderValueWithControlCharacter_IsRefused_NothingReachesUpstream(string value)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var outcome = await RawHttp2Client.SendAsync(SecondPort(gateway), H2Get("localhost", "/attack"u8.ToArray(), ("x-note", value)), null, tls: false);

        // Kestrel may refuse it first (a stream reset); if it lets it through, the gateway answers 400.
        Assert.True(outcome.Status == 400 || outcome.RefusedOrEndedUnanswered, $"status {outcome.Status}, reset {outcome.ResetCode}, goaway {outcome.GoAwayCode}");
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, gateway.Client);
    }

    [Fact]
    public async Task F2_Utf8HeaderValues_Are400_AndNeverEjectTheDestination()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        // Twice the passive threshold, over HTTP/1.1 and HTTP/2.
        for (var i = 0; i < 3; i++)
        {
            var h1 = await RawClient.SendAsync(gateway.Port, "GET /public/x HTTP/1.1\r\nHost: x\r\nX-Note: caf\u00c3\u00a9\r\nConnection: close\r\n\r\n");
            Assert.Equal(400, h1.StatusCode);
            Assert.Contains("bad-header", h1.BodyText, StringComparison.Ordinal);

            var h2 = await RawHttp2Client.SendAsync(SecondPort(gateway), H2Get("localhost", "/public/x"u8.ToArray(), ("x-note", "café")), null, tls: false);
            Assert.Equal(400, h2.Status);
        }

        // Still in: the canary is served (an ejected destination would be a 503), and it is the only request that arrived.
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, gateway.Client);
    }

    [Fact]
    public async Task F2_ExtendedConnectForAnUnlistedProtocol_Is501_AndNeverEjectsTheDestination()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        for (var i = 0; i < 4; i++)
        {
            var outcome = await RawHttp2Client.SendAsync(SecondPort(gateway),
            [
                (":method"u8.ToArray(), "CONNECT"u8.ToArray()),
                (":protocol"u8.ToArray(), "foo"u8.ToArray()),
                (":scheme"u8.ToArray(), "http"u8.ToArray()),
                (":authority"u8.ToArray(), "localhost"u8.ToArray()),
                (":path"u8.ToArray(), "/tunnel"u8.ToArray()),
            ], null, tls: false);
            Assert.Equal(501, outcome.Status);
            Assert.Contains("upgrade-not-allowed", Encoding.UTF8.GetString(outcome.Body!), StringComparison.Ordinal);
        }

        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, gateway.Client);
    }

    [Fact]
    public async Task F2_ConnectTunnel_Is501_NothingReachesUpstream()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var outcome = await RawHttp2Client.SendAsync(SecondPort(gateway),
        [
            (":method"u8.ToArray(), "CONNECT"u8.ToArray()),
            (":authority"u8.ToArray(), "internal.example:443"u8.ToArray()),
        ], null, tls: false);

        // Kestrel has no route path for a plain CONNECT; whichever answers, it is a refusal and nothing is sent upstream.
        Assert.True(outcome.Status is >= 400 and < 600 || outcome.RefusedOrEndedUnanswered, $"status {outcome.Status}, reset {outcome.ResetCode}");
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, gateway.Client);
    }

    [Theory]
    [InlineData("Gatehouse_Plan: internal")]
    [InlineData("Gatehouse_Application: internal-app")]
    [InlineData("X_Forwarded_For: 10.9.9.9")]
    [InlineData("X_Forwarded_Host: evil.example")]
    [InlineData("gatehouse_plan: internal")]
    [InlineData("X-Forwarded-Prefix: /evil")]
    [InlineData("Gatehouse-Anything: forged")]
    public async Task F3_LookAlikesOfManagedHeaders_NeverReachTheUpstream(string header)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));
        var name = header[..header.IndexOf(':', StringComparison.Ordinal)];

        var response = await RawClient.SendAsync(gateway.Port, $"GET /x HTTP/1.1\r\nHost: x\r\n{header}\r\nX-Kept: yes\r\nConnection: close\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        Assert.Null(UpstreamAssert.HeaderIn(head, name));
        Assert.DoesNotContain(name + ":", head, StringComparison.OrdinalIgnoreCase);
        Assert.Equal("yes", UpstreamAssert.HeaderIn(head, "X-Kept"));
    }

    [Fact]
    public async Task F3_UnderscoreNames_AreDroppedByDefault_AndForwardedWhenAllowed_ButNeverTheManagedOnes()
    {
        await using var backend = RawBackend.StartOk();
        const string request = "GET /x HTTP/1.1\r\nHost: x\r\nX_Custom: 1\r\nGatehouse_Plan: internal\r\nX_Forwarded_For: 10.9.9.9\r\nX_Request_Id: forged\r\nConnection: close\r\n\r\n";

        await using (var dropping = await TestGateway.StartAsync(Yaml(backend.Url)))
        {
            Assert.Equal(200, (await RawClient.SendAsync(dropping.Port, request)).StatusCode);
        }

        await using (var forwarding = await TestGateway.StartAsync(Yaml(backend.Url, gatewayExtra: "  forwardUnderscoreHeaders: true")))
        {
            Assert.Equal(200, (await RawClient.SendAsync(forwarding.Port, request)).StatusCode);
        }

        var heads = backend.RequestHeads;
        Assert.Equal(2, heads.Count);
        Assert.Null(UpstreamAssert.HeaderIn(heads[0], "X_Custom"));
        Assert.Equal("1", UpstreamAssert.HeaderIn(heads[1], "X_Custom"));
        foreach (var head in heads)
        {
            Assert.Null(UpstreamAssert.HeaderIn(head, "Gatehouse_Plan"));
            Assert.Null(UpstreamAssert.HeaderIn(head, "X_Forwarded_For"));
            Assert.Null(UpstreamAssert.HeaderIn(head, "X_Request_Id"));
            Assert.Equal("127.0.0.1", UpstreamAssert.HeaderIn(head, "X-Forwarded-For"));
        }
    }

    [Theory]
    [InlineData("h2c/1")]
    [InlineData("h2")]
    [InlineData("h2c")]
    [InlineData("TLS/1.2")]
    [InlineData("websocket/13")]
    public async Task F5_UpgradeToAnUnlistedProtocol_IsForwardedAsAnOrdinaryRequest(string protocol)
    {
        // The backend would switch to anything it is asked to; it is never asked.
        await using var backend = RawBackend.Start(async (stream, head, ct) =>
        {
            var answer = UpstreamAssert.HeaderIn(head, "Upgrade") is { } asked
                ? $"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: {asked}\r\n\r\n"
                : "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(answer), ct);
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: {protocol}\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        Assert.Null(UpstreamAssert.HeaderIn(head, "Upgrade"));
        Assert.DoesNotContain("upgrade", UpstreamAssert.HeaderIn(head, "Connection") ?? "", StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("websocket", "", "websocket")]
    [InlineData("WebSocket", "", "WebSocket")]
    [InlineData("foo, websocket", "", "websocket")]
    [InlineData("foo", "    upgrades: [websocket, foo]", "foo")]
    public async Task F5_UpgradeToAListedProtocol_IsTunnelled(string asked, string routeExtra, string sent)
    {
        await using var backend = RawBackend.Start(async (stream, head, ct) =>
        {
            var protocol = UpstreamAssert.HeaderIn(head, "Upgrade");
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: {protocol}\r\n\r\n"), ct);
            await stream.WriteAsync("tunnel-open"u8.ToArray(), ct);
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, routeExtra: routeExtra));
        await using var client = await RawClient.ConnectAsync(gateway.Port);

        await client.WriteAsync($"GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: {asked}\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
        var response = await client.ReadResponseAsync();

        Assert.Equal(101, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        Assert.Equal(sent, UpstreamAssert.HeaderIn(head, "Upgrade"));
    }

    [Fact]
    public async Task F5_RouteWithNoUpgrades_ForwardsAWebSocketUpgradeAsAnOrdinaryRequest()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, routeExtra: "    upgrades: []"));

        var response = await RawClient.SendAsync(gateway.Port, "GET /x HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        Assert.Null(UpstreamAssert.HeaderIn(Assert.Single(backend.RequestHeads), "Upgrade"));
    }
}
