using System.Net.Http.Json;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Forwarding;

/// <summary>X-Forwarded-* are believed from configured proxies only; from anyone else they are replaced.</summary>
public sealed class ForwardedHeadersTests
{
    [Fact]
    public async Task UntrustedClient_ForwardedHeadersAreReplacedByTheGatewaysOwn()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var echo = await SendSpoofedAsync(gateway);

        Assert.Equal("127.0.0.1", echo.Header("X-Forwarded-For"));
        Assert.Equal("http", echo.Header("X-Forwarded-Proto"));
        Assert.Equal($"127.0.0.1:{gateway.Port}", echo.Header("X-Forwarded-Host"));
        Assert.Null(echo.Header("Forwarded"));
    }

    [Fact]
    public async Task TrustedProxy_ForwardedHeadersAreKept_AndTheProxyIsAppended()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url)
            .Replace("gateway:\n", "gateway:\n  trustedProxies: [127.0.0.0/8]\n", StringComparison.Ordinal));

        var echo = await SendSpoofedAsync(gateway);

        Assert.Equal("203.0.113.7, 127.0.0.1", echo.Header("X-Forwarded-For"));
        Assert.Equal("https", echo.Header("X-Forwarded-Proto"));
        Assert.Equal("shop.example.com", echo.Header("X-Forwarded-Host"));
        Assert.Equal("for=203.0.113.7;proto=https", echo.Header("Forwarded"));
    }

    [Fact]
    public async Task TrustedProxyRangeNotMatching_ForwardedHeadersAreReplaced()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url)
            .Replace("gateway:\n", "gateway:\n  trustedProxies: [10.0.0.0/8]\n", StringComparison.Ordinal));

        var echo = await SendSpoofedAsync(gateway);

        Assert.Equal("127.0.0.1", echo.Header("X-Forwarded-For"));
        Assert.Equal("http", echo.Header("X-Forwarded-Proto"));
    }

    /// <summary>
    /// A route that takes a prefix off the path tells the service which (<c>X-Forwarded-Prefix</c>), after any prefix a
    /// trusted proxy took off before it; a client's own is never passed on, and a rewrite that is not a prefix says none.
    /// </summary>
    [Theory]
    [InlineData("/api/orders/42", false, "/orders/42", "/api")]
    [InlineData("/shop/v1/items", false, "/items", "/shop/v1")]
    [InlineData("/api/orders/42", true, "/orders/42", "/edge/api")]
    [InlineData("/legacy/7", false, "/users/7", null)]
    [InlineData("/plain/x", false, "/plain/x", null)]
    [InlineData("/plain/x", true, "/plain/x", "/edge/")] // a trusted proxy's own, as it sent it
    public async Task ARouteThatTakesAPrefixOff_SaysWhichInXForwardedPrefix(string path, bool trusted, string upstream, string? prefix)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway: { trustedProxies: [{{(trusted ? "127.0.0.0/8" : "10.9.9.9")}}] }
            services:
              svc: { targets: ["{{backend.Url}}"] }
            routes:
              api: { path: "/api/{**rest}", service: svc, upstreamPath: "/{**rest}" }
              shop: { path: "/shop/v1/items", service: svc, upstreamPath: "/items" }
              legacy: { path: "/legacy/{id}", service: svc, upstreamPath: "/users/{id}" }
              plain: { path: "/plain/{**rest}", service: svc }
            """);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Add("X-Forwarded-Prefix", "/edge/");

        var response = await gateway.Client.SendAsync(request);
        var echo = (await response.Content.ReadFromJsonAsync<EchoResponse>())!;

        Assert.Equal(upstream, echo.RawTarget);
        Assert.Equal(prefix, echo.Header("X-Forwarded-Prefix"));
    }

    private static async Task<EchoResponse> SendSpoofedAsync(TestGateway gateway)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/whoami");
        request.Headers.Add("X-Forwarded-For", "203.0.113.7");
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-Host", "shop.example.com");
        request.Headers.Add("Forwarded", "for=203.0.113.7;proto=https");
        var response = await gateway.Client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<EchoResponse>())!;
    }
}
