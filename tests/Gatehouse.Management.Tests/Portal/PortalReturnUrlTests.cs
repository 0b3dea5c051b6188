using System.Net;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: signing in to the portal comes back to the whole local address that asked for it, query and all (a plan
/// page with its query, an authorization request with its parameters), and never to another site.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalReturnUrlTests
{
    private const string Password = "a long enough pass phrase";

    [Fact]
    public async Task SigningIn_ReturnsToTheWholeLocalAddress_QueryIncluded()
    {
        await using var h = await PortalHarness.StartAsync();
        await h.ConsumerAsync("back@example.com");

        // A page that needs a session sends its whole address to the sign-in (it once sent the path alone).
        using var browser = h.NewBrowser();
        using (var asked = await browser.GetAsync("/apps/app-abc?tab=usage&x=1"))
        {
            Assert.Equal(HttpStatusCode.Redirect, asked.StatusCode);
            Assert.Equal("/login?returnUrl=%2Fapps%2Fapp-abc%3Ftab%3Dusage%26x%3D1", asked.Headers.Location?.OriginalString);
        }

        // A public page's Sign in link carries the page, query included; the sign-in pages' own links do not.
        Assert.Contains("href=\"/login?returnUrl=%2Fplans%2Fretail%3Fx%3D1\">Sign in</a>", await browser.PageAsync("/plans/retail?x=1"), StringComparison.Ordinal);
        Assert.Contains("href=\"/login?returnUrl=%2Fplans%2Fretail%2Fdocs%3Fx%3D1\">Sign in</a> to send requests", await browser.PageAsync("/plans/retail/docs?x=1"), StringComparison.Ordinal);
        Assert.Contains("href=\"/login\">Sign in</a>", await browser.PageAsync("/signup"), StringComparison.Ordinal);
        Assert.Contains("href=\"/login\">Sign in</a>", await browser.PageAsync("/"), StringComparison.Ordinal);

        foreach (var local in new[]
        {
            "/plans/retail?x=1",
            "/apps/app-abc?tab=usage&x=1",
            "/oauth/authorize?response_type=code&client_id=shop&redirect_uri=https%3A%2F%2Fshop.example%2Fcb&scope=read%20write&state=a%2Fb",
        })
        {
            var login = "/login?returnUrl=" + Uri.EscapeDataString(local);
            using var fresh = h.NewBrowser();
            Assert.Contains($"action=\"{login.Replace("&", "&amp;", StringComparison.Ordinal)}\"", await fresh.PageAsync(login), StringComparison.Ordinal);
            using var signed = await fresh.SubmitAsync(login, login, ("email", "back@example.com"), ("password", Password));
            Assert.Equal(HttpStatusCode.Redirect, signed.StatusCode);
            Assert.Equal(local, signed.Headers.Location?.OriginalString);
        }
    }

    [Fact]
    public async Task SigningIn_NeverReturnsToAnotherSite_ButToTheDefault()
    {
        await using var h = await PortalHarness.StartAsync();
        await h.ConsumerAsync("safe@example.com");
        foreach (var foreign in new[]
        {
            "//evil.example/apps", "/\\evil.example", "\\\\evil.example", "\\/evil.example", "https://evil.example/", "http:evil.example",
            "javascript:alert(1)", "evil.example/apps", " //evil.example", "/\t/evil.example", "/apps\r\nLocation: https://evil.example/",
            "/apps?x=\u0000//evil.example", "/apps\\..\\\\evil.example", "/\u2028/evil.example",
        })
        {
            using var browser = h.NewBrowser();
            var login = "/login?returnUrl=" + Uri.EscapeDataString(foreign);
            var page = await browser.PageAsync(login);
            Assert.DoesNotContain("evil", page, StringComparison.Ordinal);
            Assert.Contains("action=\"/login\"", page, StringComparison.Ordinal);
            using var signed = await browser.SubmitAsync(login, login, ("email", "safe@example.com"), ("password", Password));
            Assert.True(signed.StatusCode == HttpStatusCode.Redirect && signed.Headers.Location?.OriginalString == "/apps", $"{foreign}: {signed.StatusCode} {signed.Headers.Location}");
        }
    }
}
