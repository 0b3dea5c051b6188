using System.Net;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: the portal behind a TLS proxy (and a CDN), as docs/portal.md has it: the limits per client address count the
/// client that gateway.trustedProxies vouch for, not the proxy everyone comes through.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalBehindProxiesTests
{
    private static async Task<HttpStatusCode> SendUnknownTokenAsync(HttpClient client, string forwardedFor)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/api/v1/applications");
        request.Headers.TryAddWithoutValidation("Authorization", "Bearer ghc_" + new string('x', 32));
        request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
        using var response = await client.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task UnknownTokens_AreCountedPerClientBehindTrustedProxies_NotPerProxy()
    {
        // The connection is loopback (a TLS proxy on this machine); 198.51.100.0/24 is a CDN the config trusts. The client
        // is the first address from the right that no trusted proxy is.
        await using var h = await PortalHarness.StartAsync(editYaml: y => y.Replace("gateway:\n", "gateway:\n  trustedProxies: [198.51.100.0/24]\n", StringComparison.Ordinal));
        using var api = PortalApiTests.Api(h, token: null);

        for (var i = 0; i < 30; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await SendUnknownTokenAsync(api, "203.0.113.9, 198.51.100.7"));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await SendUnknownTokenAsync(api, "203.0.113.9, 198.51.100.7"));
        // The same client through another of the CDN's addresses is still the same client.
        Assert.Equal(HttpStatusCode.TooManyRequests, await SendUnknownTokenAsync(api, "203.0.113.9, 198.51.100.8"));
        // Another client behind the same proxies is not held back by the first; nor is one who writes the first's address
        // left of its own (only what trusted proxies vouch for is read).
        Assert.Equal(HttpStatusCode.Unauthorized, await SendUnknownTokenAsync(api, "203.0.113.10, 198.51.100.7"));
        Assert.Equal(HttpStatusCode.Unauthorized, await SendUnknownTokenAsync(api, "203.0.113.9, 203.0.113.11, 198.51.100.7"));
    }
}
