using System.Net;
using System.Text;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: what a consumer meets on the applications' pages: an application left without a key that works gets a
/// new one on its page (it once could only be deleted and made again), a refusal's Back link returns to the
/// application's page the form was on (it once always went to the list), and the list names plans by their titles.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalApplicationPagesTests
{
    // retail gets a title, which the pages show; wholesale has none, and shows its name.
    private static Task<PortalHarness> StartAsync() => PortalHarness.StartAsync(editYaml: yaml => yaml.Replace(
        "  retail: { include:", "  retail: { title: \"Retail tier\", include:", StringComparison.Ordinal));

    [Fact]
    public async Task AnApplicationWhoseLastKeyIsRevoked_GetsANewKeyOnItsPage_ShownOnce_AndOnlyWhileItHasNone()
    {
        await using var h = await StartAsync();
        using var browser = await h.ConsumerAsync("keyless@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Keyless shop");
        Assert.DoesNotContain($"action=\"/apps/{id}/keys\"", await browser.PageAsync($"/apps/{id}"), StringComparison.Ordinal);

        // While it has a key that works, a new one is refused (rotate instead), and nothing is added.
        using (var refused = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys", ("expires", "")))
        {
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            Assert.Contains("has a key already: rotate it", Text(await refused.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        }

        Assert.Single((await h.Store.GetApplicationAsync(id))!.Keys);

        using (var revoked = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys/{key[..8]}/revoke", ("confirm", "yes")))
        {
            Assert.Contains("Key revoked.", await revoked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var page = await browser.PageAsync($"/apps/{id}");
        Assert.Contains("This application has no key that works", page, StringComparison.Ordinal);
        Assert.Contains($"<form method=\"post\" action=\"/apps/{id}/keys\">", page, StringComparison.Ordinal);

        // The new key, shown once as at creation (same words, same copy button), works at the gateway.
        string second;
        using (var made = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys", ("expires", "")))
        {
            var html = await made.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.Created, made.StatusCode);
            Assert.Contains("This is the only time the key is shown.", html, StringComparison.Ordinal);
            Assert.Contains("id=\"copy-key\"", html, StringComparison.Ordinal);
            Assert.Contains("Keyless shop is live on plan retail. Its new API key:", Text(html), StringComparison.Ordinal);
            second = PortalHarness.NewKey().Match(html).Groups[1].Value;
        }

        Assert.StartsWith("ghk_", second, StringComparison.Ordinal);
        await Wait.UntilAsync(async () => await h.CallGatewayAsync("GET", second) == HttpStatusCode.OK, "the gateway to take the new key");
        Assert.Equal(HttpStatusCode.Unauthorized, await h.CallGatewayAsync("GET", key));

        // Once it has one again, no second: the form is gone and a post is refused.
        Assert.DoesNotContain($"action=\"/apps/{id}/keys\"", await browser.PageAsync($"/apps/{id}"), StringComparison.Ordinal);
        using (var again = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys", ("expires", "")))
        {
            Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);
        }

        Assert.Single((await h.Store.GetApplicationAsync(id))!.Keys);
    }

    [Fact]
    public async Task ANewKey_KeepsThePortalsRules_KeyLifetimeAndSuspension()
    {
        await using var h = await StartAsync();
        using var browser = await h.ConsumerAsync("ruled@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Ruled shop");
        using (var revoked = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys/{key[..8]}/revoke", ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
        }

        using var admin = h.AdminClient();
        using (var set = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"keyLifetimeMax":"30d"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        // The form offers only what the portal allows; a key that never expires is refused as at creation.
        var page = await browser.PageAsync($"/apps/{id}");
        Assert.DoesNotContain("never (revoke or rotate it yourself)", page, StringComparison.Ordinal);
        using (var forever = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys", ("expires", "")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, forever.StatusCode);
            Assert.Contains("Keys on this portal must expire within 30 days", await forever.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var made = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys", ("expires", "30d")))
        {
            Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        }

        var made30 = Assert.Single((await h.Store.GetApplicationAsync(id))!.Keys);
        Assert.InRange(made30.Expires!.Value - DateTimeOffset.UtcNow, TimeSpan.FromDays(29.9), TimeSpan.FromDays(30));

        // Suspended by an operator, with its key revoked there: no form, and a post is refused (the key could not work).
        Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/admin/portal/applications/{id}/suspend", null)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.DeleteAsync($"/admin/portal/applications/{id}/keys/{made30.Prefix}")).StatusCode);
        page = await browser.PageAsync($"/apps/{id}");
        Assert.Contains("it is suspended: a new key would not work either", page, StringComparison.Ordinal);
        Assert.DoesNotContain($"action=\"/apps/{id}/keys\"", page, StringComparison.Ordinal);
        using (var suspended = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys", ("expires", "30d")))
        {
            Assert.Equal(HttpStatusCode.Conflict, suspended.StatusCode);
            Assert.Contains("is suspended: a key for it would not work", Text(await suspended.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        }

        Assert.Empty((await h.Store.GetApplicationAsync(id))!.Keys);
    }

    [Fact]
    public async Task AnExpiredKey_IsNotRotated_IntoAKeyThatHasExpiredToo_ButReplacedByANewKey()
    {
        await using var h = await StartAsync();
        using var browser = await h.ConsumerAsync("expired@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Expired shop");
        var app = (await h.Store.GetApplicationAsync(id))!;
        var past = DateTimeOffset.UtcNow.AddDays(-1);
        Assert.NotNull(await h.Store.SaveApplicationAsync(app with { Keys = [app.Keys.Single() with { Expires = past }] }, app.Seq, "test", "expire key"));

        // Rotating it would hand over a key with the same past expiry, dead on arrival: refused, nothing changed.
        using (var rotated = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys/{key[..8]}/rotate", ("grace", "0s"), ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.Conflict, rotated.StatusCode);
            var html = await rotated.Content.ReadAsStringAsync();
            Assert.Contains("rotating it would make a key that has expired too", Text(html), StringComparison.Ordinal);
            Assert.False(PortalHarness.NewKey().IsMatch(html), "a refused rotation shows no new key");
        }

        var kept = Assert.Single((await h.Store.GetApplicationAsync(id))!.Keys);
        Assert.Equal(past, kept.Expires);

        // The page offers a new key instead, which works.
        using (var made = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys", ("expires", "")))
        {
            Assert.Equal(HttpStatusCode.Created, made.StatusCode);
            var second = PortalHarness.NewKey().Match(await made.Content.ReadAsStringAsync()).Groups[1].Value;
            await Wait.UntilAsync(async () => await h.CallGatewayAsync("GET", second) == HttpStatusCode.OK, "the gateway to take the new key");
        }
    }

    [Fact]
    public async Task ARefusedForm_LinksBackToTheApplicationItWasOn_OrToTheListWhenThereIsNone()
    {
        await using var h = await StartAsync();
        using var browser = await h.ConsumerAsync("returner@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Return shop");
        var back = $"<a href=\"/apps/{id}\">Back</a>";

        // A rotation with a grace the form does not offer, a key that is not there, a name too long, a stale form, a
        // confirmation whose key went meanwhile: each refused, each back to the application's page.
        foreach (var (action, fields, status) in new (string, (string, string)[], HttpStatusCode)[]
        {
            ($"/apps/{id}/keys/{key[..8]}/rotate", [("grace", "99d")], HttpStatusCode.BadRequest),
            ($"/apps/{id}/keys/ghk_nope/revoke", [], HttpStatusCode.NotFound),
            ($"/apps/{id}/keys/ghk_nope/revoke", [("confirm", "yes")], HttpStatusCode.NotFound),
            ($"/apps/{id}/name", [("title", new string('x', 101))], HttpStatusCode.UnprocessableEntity),
            ($"/apps/{id}/keys", [("expires", "")], HttpStatusCode.Conflict),
        })
        {
            using var refused = await browser.SubmitAsync($"/apps/{id}", action, fields);
            Assert.Equal(status, refused.StatusCode);
            Assert.Contains(back, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var stale = await browser.PostAsync($"/apps/{id}/addresses", ("addresses", "10.0.0.0/8")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, stale.StatusCode);
            Assert.Contains(back, await stale.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // Another account's application, or one deleted meanwhile: its page would say "not found", so back to the list.
        using var other = await h.ConsumerAsync("other@example.com");
        using (var foreign = await other.SubmitAsync("/apps", $"/apps/{id}/keys/{key[..8]}/revoke", ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.NotFound, foreign.StatusCode);
            var html = await foreign.Content.ReadAsStringAsync();
            Assert.Contains("<a href=\"/apps\">Back</a>", html, StringComparison.Ordinal);
            Assert.DoesNotContain(back, html, StringComparison.Ordinal);
        }

        Assert.Single((await h.Store.GetApplicationAsync(id))!.Keys);
    }

    [Fact]
    public async Task TheApplicationsList_NamesEachPlanByItsTitle_AsTheCatalogueDoes()
    {
        await using var h = await StartAsync();
        using var browser = await h.ConsumerAsync("lister@example.com");
        var (retail, _) = await PortalHarness.CreateAppAsync(browser, "retail", "On retail");
        await PortalHarness.CreateAppAsync(browser, "wholesale", "On wholesale");

        var list = await browser.PageAsync("/apps");
        Assert.Contains("<td>Retail tier</td>", list, StringComparison.Ordinal);
        Assert.Contains("<td>wholesale</td>", list, StringComparison.Ordinal);
        Assert.DoesNotContain("<td>retail</td>", list, StringComparison.Ordinal);
        Assert.Contains(">Retail tier</a>", await browser.PageAsync("/"), StringComparison.Ordinal);
        Assert.Contains("Plan <a href=\"/plans/retail\">Retail tier</a>", await browser.PageAsync($"/apps/{retail}"), StringComparison.Ordinal);
    }

    // The page as its reader sees it (the view engine encodes "'").
    private static string Text(string html) => WebUtility.HtmlDecode(html);
}
