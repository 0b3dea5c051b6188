using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Security;

/// <summary>
/// A CR, LF or NUL inside a header value must never reach the upstream's wire, where it would split one
/// header into two (or end the head early) and let a client write headers the gateway never saw.
/// <list type="table">
/// <listheader><term>input</term><description>who refuses it, and how</description></listheader>
/// <item><term>HTTP/1.1 obs-fold (CRLF + SP/HTAB), bare CR, NUL in a value or a name; the same in Host or X-Forwarded-Host</term>
/// <description>Kestrel's parser: 400 with an empty body, before the gateway runs. Nothing is sent upstream.</description></item>
/// <item><term>HTTP/1.1 bare LF</term>
/// <description>Kestrel treats it as a line end (RFC 9112 §2.2 allows this), so "X: a\nY: b" is two headers. The upstream gets
/// two well-formed CRLF lines; the LF never travels inside a value.</description></item>
/// <item><term>HTTP/2 (h2c) CR, LF, NUL in a value, in <c>:authority</c> or in a name</term>
/// <description><see cref="HttpClient"/> sends them as given; Kestrel's HTTP/2 layer answers with a connection error
/// (GOAWAY PROTOCOL_ERROR). Nothing is sent upstream.</description></item>
/// <item><term>anything that got past Kestrel</term>
/// <description>The forwarder checks every value it copies (<c>HeaderRules.IsSafeValue</c>) and answers 400 problem+json
/// (<c>bad-header</c>); no case here reaches that layer because Kestrel refuses first.</description></item>
/// </list>
/// </summary>
public sealed class HeaderInjectionTests
{
    private static string TrustingYaml(string backendUrl) => TestGateway.SimpleYaml(backendUrl).Replace(
        "gateway:\n", "gateway:\n  trustedProxies: [127.0.0.1]\n", StringComparison.Ordinal);

    private static string Http2Yaml(string backendUrl) => TestGateway.SimpleYaml(backendUrl).Replace(
        "gateway:\n", "gateway:\n  trustedProxies: [127.0.0.1]\n  listeners: [{url: \"http://127.0.0.1:0\", protocols: http2}]\n", StringComparison.Ordinal);

    [Theory]
    [InlineData("Host: x\r\nX-Attack: a\r\n Injected: 1\r\n")]
    [InlineData("Host: x\r\nX-Attack: a\r\n\tInjected: 1\r\n")]
    [InlineData("Host: x\r\nX-Attack: a\rInjected: 1\r\n")]
    [InlineData("Host: x\r\nX-Attack: a\0Injected: 1\r\n")]
    [InlineData("Host: x\r\nX-Att\0Injected: 1\r\n")]
    [InlineData("Host: x\r\nX-Att\rInjected: 1\r\n")]
    [InlineData("Host: x\rInjected: 1\r\n")]
    [InlineData("Host: x\0Injected: 1\r\n")]
    [InlineData("Host: x\r\n Injected: 1\r\n")]
    [InlineData("Host: x\r\nX-Forwarded-Host: a\r\n Injected: 1\r\n")]
    [InlineData("Host: x\r\nX-Forwarded-Host: a\0Injected: 1\r\n")]
    [InlineData("Host: x\r\nX-Forwarded-For: 10.0.0.1\rInjected: 1\r\n")]
    public async Task Http1_ControlCharacterInHeader_KestrelRejects400_NothingReachesUpstream(string headers)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TrustingYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"GET /attack HTTP/1.1\r\n{headers}\r\n");

        Assert.Equal(400, response.StatusCode);
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, gateway.Client);
        Assert.DoesNotContain("Injected", backend.Received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http1_BareLineFeed_EndsTheLine_UpstreamGetsTwoWellFormedHeaders()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TrustingYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, "GET /attack HTTP/1.1\r\nHost: x\r\nX-Attack: a\nInjected: 1\r\nConnection: close\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        UpstreamAssert.WellFormedHead(head);
        Assert.Equal("a", UpstreamAssert.HeaderIn(head, "X-Attack"));
        Assert.Equal("1", UpstreamAssert.HeaderIn(head, "Injected"));
        Assert.Equal(head, backend.Received);
    }

    [Fact]
    public async Task Http1_TrustedForwardedHost_CleanValue_IsPassedOn()
    {
        // The positive control for the X-Forwarded-Host cases above: from a trusted proxy the value is used.
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TrustingYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, "GET /ok HTTP/1.1\r\nHost: x\r\nX-Forwarded-Host: public.example\r\nConnection: close\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        UpstreamAssert.WellFormedHead(head);
        Assert.Equal("public.example", UpstreamAssert.HeaderIn(head, "X-Forwarded-Host"));
    }

    [Theory]
    [InlineData("X-Attack", "a\r\nInjected: 1")]
    [InlineData("X-Attack", "a\rInjected: 1")]
    [InlineData("X-Attack", "a\nInjected: 1")]
    [InlineData("X-Attack", "a\0Injected: 1")]
    [InlineData("X-Forwarded-Host", "a\r\nInjected: 1")]
    [InlineData("X-Forwarded-Host", "a\0Injected: 1")]
    public async Task Http2_HttpClientSendsControlCharacter_KestrelRefusesStream_NothingReachesUpstream(string name, string value)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Http2Yaml(backend.Url));
        using var client = gateway.CreateHttp2Client();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/attack") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        Assert.True(request.Headers.TryAddWithoutValidation(name, value));

        // Whichever layer refuses, the request must not succeed: HttpClient (before sending), Kestrel
        // (a protocol error) or the gateway (400). Today it is Kestrel.
        HttpStatusCode? status = null;
        HttpRequestException? refused = null;
        try
        {
            using var response = await client.SendAsync(request);
            status = response.StatusCode;
        }
        catch (HttpRequestException e)
        {
            refused = e;
        }

        // Kestrel's refusal reaches HttpClient as a stream reset (protocol error) or, when the connection is torn down
        // first, as a response that ended; both are refusals (a CI run saw the second once).
        Assert.True(
            refused is { HttpRequestError: HttpRequestError.HttpProtocolError or HttpRequestError.ResponseEnded } || status == HttpStatusCode.BadRequest,
            $"expected a refusal, got status {status} / {refused?.Message}");
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, client);
        Assert.DoesNotContain("Injected", backend.Received, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(":authority", "x\r\nInjected: 1")]
    [InlineData(":authority", "x\0Injected: 1")]
    [InlineData(":authority", "x\rInjected: 1")]
    [InlineData("x-attack", "a\r\nInjected: 1")]
    [InlineData("x-attack", "a\0Injected: 1")]
    [InlineData("x-forwarded-host", "a\nInjected: 1")]
    [InlineData("x-attack\r\ninjected", "1")]
    public async Task Http2_RawFieldWithControlCharacter_IsRefused_NothingReachesUpstream(string name, string value)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Http2Yaml(backend.Url));
        using var client = gateway.CreateHttp2Client();

        var fields = new List<(string, string)> { (":method", "GET"), (":scheme", "http"), (":path", "/attack") };
        if (name != ":authority")
        {
            fields.Add((":authority", "x"));
        }

        fields.Add((name, value));
        var outcome = await RawHttp2Client.SendAsync(gateway.Port, fields);

        Assert.True(outcome.RefusedOrEndedUnanswered || outcome.Status == 400, $"expected a refusal, got {outcome}");
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, client);
        Assert.DoesNotContain("Injected", backend.Received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Http2_RawCleanFields_ReachUpstreamAsWellFormedHead()
    {
        // The positive control for the raw HTTP/2 cases: the same frames with clean values are forwarded,
        // and :authority becomes X-Forwarded-Host.
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(Http2Yaml(backend.Url));

        var outcome = await RawHttp2Client.SendAsync(gateway.Port,
            [(":method", "GET"), (":scheme", "http"), (":path", "/clean"), (":authority", "public.example"), ("x-attack", "harmless")]);

        Assert.Equal(200, outcome.Status);
        var head = Assert.Single(backend.RequestHeads);
        UpstreamAssert.WellFormedHead(head);
        Assert.StartsWith("GET /clean HTTP/1.1\r\n", head, StringComparison.Ordinal);
        Assert.Equal("harmless", UpstreamAssert.HeaderIn(head, "x-attack"));
        Assert.Equal("public.example", UpstreamAssert.HeaderIn(head, "X-Forwarded-Host"));
    }
}
