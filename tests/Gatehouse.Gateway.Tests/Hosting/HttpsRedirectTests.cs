using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Loading;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>
/// A listener with <c>redirectToHttps</c> sends every request to https with its host, path and query (308, so the
/// method and body are kept), except the health path and ACME HTTP-01 challenges; the gateway's other listeners serve.
/// </summary>
public sealed class HttpsRedirectTests
{
    private static async Task<(TestGateway Gateway, int Plain)> StartAsync(string backend, int httpsPort)
    {
        var plain = FreePorts.Tcp();
        var loaded = ConfigLoader.Load($$"""
            version: 1
            gateway:
              healthPath: /healthz
              listeners:
                - { url: "http://127.0.0.1:0", redirectToHttps: {{httpsPort}} }
                - { url: "http://127.0.0.1:{{plain}}" }
            services:
              api: { targets: ["{{backend}}"] }
            routes:
              all: { path: "/{**rest}", service: api }
            """, Path.GetTempPath());
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        return (await TestGateway.StartAsync(loaded.Config!), plain);
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, HttpMethod method, string target, string host)
    {
        using var request = new HttpRequestMessage(method, target);
        request.Headers.Host = host;
        return await client.SendAsync(request);
    }

    [Fact]
    public async Task EveryRequest_Is308ToTheSameHostPathAndQueryOverHttps_ButTheHealthPathAndAcmeChallenges()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var (gateway, plain) = await StartAsync(backend.Url, 8443);
        await using var _ = gateway;

        var get = await SendAsync(gateway.Client, HttpMethod.Get, "/orders/7?view=full&x=%2F", "shop.example.com");
        var post = await SendAsync(gateway.Client, HttpMethod.Post, "/orders", "shop.example.com:80");
        var acme = await SendAsync(gateway.Client, HttpMethod.Get, "/.well-known/acme-challenge/token123", "shop.example.com");
        var health = await SendAsync(gateway.Client, HttpMethod.Get, "/healthz", "shop.example.com");
        using var other = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{plain}") };
        var elsewhere = await other.GetAsync("/orders/7");

        Assert.Equal(HttpStatusCode.PermanentRedirect, get.StatusCode);
        Assert.Equal("https://shop.example.com:8443/orders/7?view=full&x=%2F", get.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.PermanentRedirect, post.StatusCode);
        Assert.Equal("https://shop.example.com:8443/orders", post.Headers.Location!.OriginalString);
        Assert.Equal(HttpStatusCode.OK, acme.StatusCode);
        Assert.Contains("/.well-known/acme-challenge/token123", await acme.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
        Assert.Equal(HttpStatusCode.OK, elsewhere.StatusCode);
    }

    [Fact]
    public async Task Port443_IsLeftOut_AndAHostThatNamesNoHost_Gets400()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        var (gateway, _) = await StartAsync(backend.Url, 443);
        await using var __ = gateway;

        var ipv6 = await SendAsync(gateway.Client, HttpMethod.Get, "/a", "[2001:db8::1]:80");
        var named = await SendAsync(gateway.Client, HttpMethod.Get, "/a", "shop.example.com");
        var bad = await RawClient.SendAsync(gateway.Port, "GET /a HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n");

        Assert.Equal("https://[2001:db8::1]/a", ipv6.Headers.Location!.OriginalString);
        Assert.Equal("https://shop.example.com/a", named.Headers.Location!.OriginalString);
        Assert.Equal(400, bad.StatusCode);
        Assert.Contains("bad-host", bad.BodyText);
    }

    [Theory]
    [InlineData("- { url: \"https://127.0.0.1:0\", redirectToHttps: 443, certificate: { certFile: a.pem, keyFile: a.key } }")]
    [InlineData("- { url: \"http://127.0.0.1:0\", redirectToHttps: 70000 }")]
    public void ARedirectThatCannotWork_IsRefusedWithItsPath(string listener)
    {
        var loaded = ConfigLoader.Load($$"""
            version: 1
            gateway:
              listeners:
                {{listener}}
            """, Path.GetTempPath());

        Assert.Contains(loaded.Errors, e => e.Path == "gateway.listeners[0].redirectToHttps");
    }
}
