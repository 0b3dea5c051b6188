using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Config;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: the portal's forms that cannot be undone (revoke, rotate, delete, a move onto a plan that needs approval,
/// revoking an API token) act on a second post only. The first answers a page that says what will happen, and its
/// button (a plain form: no JavaScript) posts the same fields again with confirm=yes.
/// </summary>
[Trait("Issue", "18")]
public sealed partial class PortalConfirmTests
{
    [Fact]
    public async Task RotateRevokeDelete_FirstPostAsksAndChangesNothing_TheConfirmationPageActs()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("careful@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Careful shop");
        var prefix = key[..8];

        // Rotate with a day's grace: asked, in words, and nothing is rotated until the page's button is pressed.
        using (var asked = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys/{prefix}/rotate", ("grace", "24h")))
        {
            var page = await asked.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
            Assert.Contains($"The key {prefix}… keeps working for 24 hours, then stops: the gateway answers 401", Text(page), StringComparison.Ordinal);
            Assert.Contains($"href=\"/apps/{id}\">Cancel", Text(page), StringComparison.Ordinal);
            Assert.Single((await h.Store.GetApplicationAsync(id))!.Keys);

            using var rotated = await ConfirmAsync(browser, page);
            Assert.Equal(HttpStatusCode.Created, rotated.StatusCode);
            // The grace as people say it, not as the form sends it ("24h").
            Assert.Contains($"The key {prefix}… keeps working for 24 hours. The new key:", Text(await rotated.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        }

        var keys = (await h.Store.GetApplicationAsync(id))!.Keys;
        Assert.Equal(2, keys.Count);
        var newPrefix = keys.Single(k => k.Prefix != prefix).Prefix;

        // Revoke the old key: asked (the other key keeps working), then revoked at the gateway.
        using (var asked = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys/{prefix}/revoke"))
        {
            var page = await asked.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
            Assert.Contains($"The key {prefix}… of Careful shop stops working at once: the gateway answers 401 to every call that sends it. This cannot be undone. The application's other keys keep working.",
                Text(page), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", key));

            using var revoked = await ConfirmAsync(browser, page);
            Assert.Equal(HttpStatusCode.OK, revoked.StatusCode);
            Assert.Contains("Key revoked.", await revoked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        await Wait.UntilAsync(async () => await h.CallGatewayAsync("GET", key) == HttpStatusCode.Unauthorized, "the gateway to refuse the revoked key");

        // The last key: the page says the application is then left without one.
        using (var asked = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys/{newPrefix}/revoke"))
        {
            Assert.Contains("It is the application's only key", Text(await asked.Content.ReadAsStringAsync()), StringComparison.Ordinal);
        }

        // Delete: asked, still there; then deleted.
        using (var asked = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/delete"))
        {
            var page = await asked.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
            Assert.Contains("Careful shop is deleted and its key stops working at once", Text(page), StringComparison.Ordinal);
            Assert.NotNull(await h.Store.GetApplicationAsync(id));

            using var deleted = await ConfirmAsync(browser, page);
            Assert.Equal(HttpStatusCode.Redirect, deleted.StatusCode);
            // The list it lands on says it is done (it once showed the list alone, as if nothing had happened).
            var list = await browser.PageAsync(deleted.Headers.Location!.OriginalString);
            Assert.Contains("<p class=\"notice\" role=\"status\">The application is deleted: its keys no longer work.</p>", list, StringComparison.Ordinal);
            Assert.DoesNotContain(id, list, StringComparison.Ordinal);
        }

        Assert.DoesNotContain("is deleted", await browser.PageAsync("/apps?done=anything+else"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task APlanMove_AsksOnlyWhenItTakesALiveApplicationOutOfService()
    {
        // A second plan without approval: a live application's move onto it takes nothing out of service.
        await using var h = await PortalHarness.StartAsync(editYaml: yaml => yaml.Replace(
            "  retail: { include: [ { tag: users, access: read } ] }",
            "  retail: { include: [ { tag: users, access: read } ] }\n  basic: { include: [ { tag: users, access: read } ] }", StringComparison.Ordinal));
        using var browser = await h.ConsumerAsync("mover@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Moving shop");

        using (var asked = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/plan", ("plan", "wholesale")))
        {
            var page = await asked.Content.ReadAsStringAsync();
            Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
            Assert.Contains("needs an administrator's approval. Until one approves the move, Moving shop is pending: the gateway refuses its keys (403)", Text(page), StringComparison.Ordinal);
            Assert.Equal(("retail", ApplicationState.Live), await PlanAsync(h, id));
            Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", key));

            using var moved = await ConfirmAsync(browser, page);
            Assert.Equal(HttpStatusCode.OK, moved.StatusCode);
            Assert.Contains("Plan changed.", await moved.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(("wholesale", ApplicationState.Pending), await PlanAsync(h, id));

        // Back onto a plan without approval, then to another: nothing to lose, so no question.
        foreach (var plan in new[] { "retail", "basic" })
        {
            using var moved = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/plan", ("plan", plan));
            Assert.Contains("Plan changed.", await moved.Content.ReadAsStringAsync(), StringComparison.Ordinal);
            Assert.Equal((plan, ApplicationState.Live), await PlanAsync(h, id));
        }
    }

    [Fact]
    public async Task RevokingAnApiToken_OnThePage_AsksFirst_TheApiItselfNever()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("scripter@example.com");
        var token = await PortalApiTests.MakeTokenAsync(browser, "nightly");
        using var api = PortalApiTests.Api(h, token);
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Scripted");

        using (var asked = await browser.SubmitAsync("/tokens", "/tokens/nightly/revoke"))
        {
            var page = await asked.Content.ReadAsStringAsync();
            Assert.Contains("The API token nightly stops working at once: scripts that send it get 401", Text(page), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/me")).StatusCode);

            // The JSON API acts at once, as scripts expect: no confirmation field, no page.
            using (var revoked = await api.DeleteAsync($"/api/v1/applications/{id}/keys/{key[..8]}"))
            {
                Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
            }

            using var confirmed = await ConfirmAsync(browser, page);
            Assert.Contains("Token nightly revoked", await confirmed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/api/v1/me")).StatusCode);
    }

    private static async Task<(string, ApplicationState)> PlanAsync(PortalHarness h, string id)
    {
        var application = (await h.Store.GetApplicationAsync(id))!;
        return (application.Plan, application.State);
    }

    // The page as its reader sees it (the view engine encodes "…" and "'").
    private static string Text(string html) => WebUtility.HtmlDecode(html);

    /// <summary>Presses the confirmation page's button: posts its form's action with its hidden fields, as a browser would.</summary>
    private static Task<HttpResponseMessage> ConfirmAsync(Browser browser, string page)
    {
        var form = Form().Match(page);
        Assert.True(form.Success, page);
        var fields = Hidden().Matches(form.Groups[2].Value).Select(m => (WebUtility.HtmlDecode(m.Groups[1].Value), WebUtility.HtmlDecode(m.Groups[2].Value))).ToArray();
        Assert.Contains(("confirm", "yes"), fields);
        return browser.PostAsync(WebUtility.HtmlDecode(form.Groups[1].Value), fields);
    }

    [GeneratedRegex("<form method=\"post\" action=\"([^\"]+)\" aria-describedby=\"what-happens\">(.*?)</form>", RegexOptions.Singleline)]
    private static partial Regex Form();

    [GeneratedRegex("<input type=\"hidden\" name=\"([^\"]+)\" value=\"([^\"]*)\"")]
    private static partial Regex Hidden();
}
