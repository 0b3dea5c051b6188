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
