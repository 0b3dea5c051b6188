using System.Net;
using System.Text.Json.Nodes;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: the docs' "try it" proxy (<c>/try?scalar_url=URL</c>) sends a signed-in consumer's requests from the
/// portal's own pages to the gateway's public URL, and nothing else: no anonymous relay, no other site's page, no URL
/// that parses to somewhere outside the gateway's URL.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalTryItTests
{
    [Fact]
    public async Task TryIt_IsForSignedInConsumers_FromThePortalsOwnPages()
    {
        await using var h = await PortalHarness.StartAsync();
        var target = "/try?scalar_url=" + Uri.EscapeDataString(h.Gateway.Urls[0].TrimEnd('/') + "/users/7");
        using var anonymous = h.NewBrowser();
        Assert.Equal("try-sign-in", await ProblemAsync(await SendAsync(anonymous, target, null, null), HttpStatusCode.Unauthorized));
        Assert.Contains("Sign in</a> to send requests from here", await anonymous.PageAsync("/plans/retail/docs"), StringComparison.Ordinal);
        Assert.Contains("data-proxy=\"\"", await anonymous.PageAsync("/plans/retail/docs"), StringComparison.Ordinal);

        using var browser = await h.ConsumerAsync("trier@example.com");
        var (_, key) = await PortalHarness.CreateAppAsync(browser, "retail");
        Assert.Contains("data-proxy=\"/try\"", await browser.PageAsync("/plans/retail/docs"), StringComparison.Ordinal);
        using (var tried = await SendAsync(browser, target, key, "same-origin"))
        {
            Assert.Equal(HttpStatusCode.OK, tried.StatusCode);
            Assert.Equal("user", await tried.Content.ReadAsStringAsync());
        }

        // A script (no Sec-Fetch-Site) with the session works too; another site's page, or a link followed, does not.
        using (var script = await SendAsync(browser, target, key, null))
        {
            Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        }

        foreach (var site in new[] { "cross-site", "same-site", "none" })
        {
            Assert.Equal("try-cross-site", await ProblemAsync(await SendAsync(browser, target, key, site), HttpStatusCode.Forbidden));
        }
    }

    [Fact]
    public async Task TryIt_SendsNothingOutsideTheGatewaysUrl_HoweverTheUrlIsSpelt()
    {
        // The gateway published under a path (a proxy in front of it), so that ".." has somewhere to escape to.
        await using var h = await PortalHarness.StartAsync(portalOptions: o => o with { GatewayUrl = o.GatewayUrl.TrimEnd('/') + "/api" });
        using var browser = await h.ConsumerAsync("escaper@example.com");
        var (_, key) = await PortalHarness.CreateAppAsync(browser, "retail");
        var gateway = new Uri(h.Gateway.Urls[0]);
        var origin = $"http://{gateway.Host}:{gateway.Port}";
        foreach (var url in new[]
        {
            $"{origin}/api/../users/7", $"{origin}/api/%2e%2e/users/7", $"{origin}/api/.%2E/users/7", $"{origin}/api\\..\\users/7", $"{origin}/api/x/../../users/7",
            $"{origin}/users/7", $"{origin}/apix/../users/7", $"{origin}//evil.example/api/users/7", $"{origin}@evil.example/api/users/7",
            $"http://user@{gateway.Host}:{gateway.Port}/api/users/7", $"http://evil.example/?{origin}/api/", $"https://{gateway.Host}:{gateway.Port}/api/users/7",
            $"http://{gateway.Host}:{gateway.Port + 1}/api/users/7", $"http://localhost:{gateway.Port}/api/users/7", "/api/users/7", "",
        })
        {
            using var response = await SendAsync(browser, "/try?scalar_url=" + Uri.EscapeDataString(url), key, "same-origin");
            Assert.True(response.StatusCode == HttpStatusCode.BadRequest, $"{url}: {response.StatusCode}");
            Assert.Equal("urn:gatehouse:problem:try-target", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["type"]);
        }

        // Under the gateway's path it goes on (the gateway has no /api routes: its own 404), whatever Host the caller sent.
        using var request = new HttpRequestMessage(HttpMethod.Get, "/try?scalar_url=" + Uri.EscapeDataString($"{origin}/api/users/%2e%2e/7"));
        request.Headers.Host = "evil.example";
        request.Headers.Add("Sec-Fetch-Site", "same-origin");
        using var inside = await browser.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.NotFound, inside.StatusCode);
        Assert.DoesNotContain("try-target", await inside.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TryIt_CountsEachAccountsCalls_AndAnswers429WithRetryAfter_PastThePortalsLimit()
    {
        await using var h = await PortalHarness.StartAsync();
        using var admin = h.AdminClient();
        Assert.Equal(60, (int)JsonNode.Parse(await admin.GetStringAsync("/admin/portal/settings"))!["tryItPerMinute"]!);
        foreach (var bad in new[] { "0", "10001", "\"5\"", "1.5" })
        {
            using var refused = await admin.PutAsync("/admin/portal/settings", new StringContent($$"""{"tryItPerMinute":{{bad}}}""", System.Text.Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        }

        using (var set = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"tryItPerMinute":3}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(3, (int)JsonNode.Parse(await set.Content.ReadAsStringAsync())!["tryItPerMinute"]!);
        }

        var target = "/try?scalar_url=" + Uri.EscapeDataString(h.Gateway.Urls[0].TrimEnd('/') + "/users/7");
        using var browser = await h.ConsumerAsync("busy@example.com");
        var (_, key) = await PortalHarness.CreateAppAsync(browser, "retail");

        // What try it refuses itself (another site's URL) never reaches the gateway, so it is not counted.
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal("try-target", await ProblemAsync(await SendAsync(browser, "/try?scalar_url=" + Uri.EscapeDataString("http://evil.example/"), key, "same-origin"), HttpStatusCode.BadRequest));
        }

        for (var i = 0; i < 3; i++)
        {
            using var tried = await SendAsync(browser, target, key, "same-origin");
            Assert.Equal(HttpStatusCode.OK, tried.StatusCode);
        }

        using (var limited = await SendAsync(browser, target, key, "same-origin"))
        {
            Assert.Equal(HttpStatusCode.TooManyRequests, limited.StatusCode);
            Assert.Equal("application/problem+json", limited.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await limited.Content.ReadAsStringAsync())!;
            Assert.Equal("urn:gatehouse:problem:try-too-many", (string?)problem["type"]);
            Assert.Equal(429, (int)problem["status"]!);
            Assert.Contains("at most 3 calls a minute for one account", (string?)problem["detail"], StringComparison.Ordinal);
            // A call comes back every 20 seconds at 3 a minute: never sooner than 1, never later than that.
            Assert.InRange(limited.Headers.RetryAfter?.Delta?.TotalSeconds ?? 0, 1, 20);
        }

        // The limit is the account's: another consumer's calls go on.
        using var other = await h.ConsumerAsync("calm@example.com");
        using (var tried = await SendAsync(other, target, key, "same-origin"))
        {
            Assert.Equal(HttpStatusCode.OK, tried.StatusCode);
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(Browser browser, string path, string? key, string? site)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        if (site is not null)
        {
            request.Headers.Add("Sec-Fetch-Site", site);
        }

        return await browser.Client.SendAsync(request);
    }

    private static async Task<string> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        using (response)
        {
            Assert.Equal(status, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            return ((string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["type"]!).Replace("urn:gatehouse:problem:", "", StringComparison.Ordinal);
        }
    }
}
