using System.Net;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// A consumer's own account page: a new password while signed in (the other sessions end, this one stays), and deleting
/// the account with its applications (their keys stop at once, the address leaves the change log); both ask for the
/// password again. And the same deletions from the admin API.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalAccountSettingsTests
{
    private const string Password = "a long enough pass phrase";

    private static async Task<HttpStatusCode> LogInAsync(PortalHarness h, string email, string password)
    {
        using var browser = h.NewBrowser();
        using var login = await browser.SubmitAsync("/login", "/login", ("email", email), ("password", password));
        return login.StatusCode;
    }

    [Fact]
    public async Task ChangingThePassword_AsksForTheCurrentOne_EndsTheOtherSessions_AndKeepsThisOne()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("changer@example.com");
        using var other = h.NewBrowser();
        using (var login = await other.SubmitAsync("/login", "/login", ("email", "changer@example.com"), ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        using (var wrong = await browser.SubmitAsync("/account", "/account/password", ("current", "not the password at all"), ("password", "a brand new pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            Assert.Contains("current password is not right", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var weak = await browser.SubmitAsync("/account", "/account/password", ("current", Password), ("password", "short")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, weak.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Redirect, await LogInAsync(h, "changer@example.com", Password)); // nothing changed yet

        using (var changed = await browser.SubmitAsync("/account", "/account/password", ("current", Password), ("password", "a brand new pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, changed.StatusCode);
            Assert.Equal("/account?done=password", changed.Headers.Location?.OriginalString);
        }

        using (var page = await browser.GetAsync("/account?done=password"))
        {
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Contains("Your password is changed", await page.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var ended = await other.GetAsync("/apps"))
        {
            Assert.Equal(HttpStatusCode.Redirect, ended.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await LogInAsync(h, "changer@example.com", Password));
        Assert.Equal(HttpStatusCode.Redirect, await LogInAsync(h, "changer@example.com", "a brand new pass phrase"));
    }

    [Fact]
    public async Task DeletingTheAccount_AsksForThePassword_StopsItsKeysAtOnce_AndTakesItsAddressOutOfTheLog()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("leaving@example.com");
        var (_, first) = await PortalHarness.CreateAppAsync(browser, "retail", "First app");
        var (_, second) = await PortalHarness.CreateAppAsync(browser, "retail", "Second app");
        using var neighbour = await h.ConsumerAsync("staying@example.com");
        var (_, theirs) = await PortalHarness.CreateAppAsync(neighbour, "retail", "Theirs");
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", first));
        var account = (await h.Store.FindAccountByEmailAsync("leaving@example.com"))!;
        Assert.Contains("Delete this account and its 2 applications", await browser.PageAsync("/account"), StringComparison.Ordinal);

        using (var unconfirmed = await browser.SubmitAsync("/account", "/account/delete", ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, unconfirmed.StatusCode);
        }

        using (var wrong = await browser.SubmitAsync("/account", "/account/delete", ("password", "not the password at all"), ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        Assert.NotNull(await h.Store.GetAccountAsync(account.Id));
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", second));

        using (var deleted = await browser.SubmitAsync("/account", "/account/delete", ("password", Password), ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
            Assert.Contains("Account deleted", await deleted.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        // This node's gateway refuses the keys when the answer is out; the other consumer is untouched.
        Assert.Equal(HttpStatusCode.Unauthorized, await h.CallGatewayAsync("GET", first));
        Assert.Equal(HttpStatusCode.Unauthorized, await h.CallGatewayAsync("GET", second));
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", theirs));
        Assert.Null(await h.Store.GetAccountAsync(account.Id));
        Assert.Null(await h.Store.FindAccountByEmailAsync("leaving@example.com"));
        Assert.Empty(await h.Store.ListApplicationsAsync(account.Id, null, null, 10));
        using (var gone = await browser.GetAsync("/account"))
        {
            Assert.Equal(HttpStatusCode.Redirect, gone.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await LogInAsync(h, "leaving@example.com", Password));

        // The change log keeps who did what (the deletion included), but not the address, the name or the apps' titles.
        var changes = await h.Store.ListConsumerChangesAsync(null, 100);
        var log = string.Join("\n", changes.Select(c => $"{c.Actor} {c.Action} {c.Kind} {c.Name} {c.Before} {c.After}"));
        Assert.Contains(changes, c => c is { Kind: "account", Action: "delete" } && c.Name == account.Id);
        Assert.DoesNotContain("leaving@example.com", log, StringComparison.Ordinal);
        Assert.Contains(changes, c => c is { Kind: "account", Action: "delete" } && c.Actor == "portal:" + account.Id);
        Assert.DoesNotContain("First app", log, StringComparison.Ordinal);
        Assert.Contains("staying@example.com", log, StringComparison.Ordinal);
        Assert.Contains("Theirs", log, StringComparison.Ordinal);

        // The address is free again.
        using var again = await h.ConsumerAsync("leaving@example.com");
        Assert.Contains("Delete this account and its 0 applications", await again.PageAsync("/account"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheAdminApi_DeletesAnAccountWithItsApplications_OrOneApplication()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("removed@example.com");
        var (appId, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Removed app");
        using var neighbour = await h.ConsumerAsync("kept@example.com");
        var (keptId, kept) = await PortalHarness.CreateAppAsync(neighbour, "retail", "Kept app");
        var (_, keptToo) = await PortalHarness.CreateAppAsync(neighbour, "retail", "Kept too");
        var account = (await h.Store.FindAccountByEmailAsync("removed@example.com"))!;
        using var admin = h.AdminClient();

        using (var deleted = await admin.DeleteAsync($"/admin/portal/accounts/{account.Id}"))
        {
            Assert.Equal(HttpStatusCode.OK, deleted.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await h.CallGatewayAsync("GET", key));
        Assert.Null(await h.Store.GetApplicationAsync(appId) is { Deleted: false } ? "live" : null);
        Assert.Null(await h.Store.GetAccountAsync(account.Id));
        using (var again = await admin.DeleteAsync($"/admin/portal/accounts/{account.Id}"))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
            Assert.Equal("application/problem+json", again.Content.Headers.ContentType?.MediaType);
        }

        using (var one = await admin.DeleteAsync($"/admin/portal/applications/{keptId}"))
        {
            Assert.Equal(HttpStatusCode.OK, one.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await h.CallGatewayAsync("GET", kept));
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", keptToo));
        Assert.Contains("Kept too", await neighbour.PageAsync("/apps"), StringComparison.Ordinal);
        Assert.DoesNotContain("Kept app", await neighbour.PageAsync("/apps"), StringComparison.Ordinal);
    }
}
