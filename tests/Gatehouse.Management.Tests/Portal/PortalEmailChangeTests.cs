using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Gateway.Tests.Infrastructure;
using MimeKit;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// A consumer moves their account to a new address: asked on the account page with the password, made when the link
/// mailed to the new address is opened with the password again. The old address is told; other sessions end; whether
/// the new address already has an account is told to that address only.
/// </summary>
[Trait("Issue", "18")]
public sealed partial class PortalEmailChangeTests
{
    private const string Password = "a long enough pass phrase";

    private static int MailCount(PortalHarness h, string address) => Directory.Exists(h.MailDirectory)
        ? Directory.GetFiles(h.MailDirectory, "*.eml").Count(f => MimeMessage.Load(f).To.Mailboxes.Any(b => b.Address == address))
        : 0;

    private static async Task<HttpStatusCode> LogInAsync(PortalHarness h, string email, string password)
    {
        using var browser = h.NewBrowser();
        using var login = await browser.SubmitPastBusyAsync("/login", "/login", ("email", email), ("password", password));
        return login.StatusCode;
    }

    [Fact]
    public async Task TheAddressChanges_WhenTheMailedLinkIsOpenedWithThePassword_OtherSessionsEnd_AndTheOldAddressIsTold()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("before@example.com");
        var (_, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Keeps working");
        using var other = h.NewBrowser();
        using (var login = await other.SubmitPastBusyAsync("/login", "/login", ("email", "before@example.com"), ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        using (var wrong = await browser.SubmitAsync("/account", "/account/email", ("email", "after@example.com"), ("password", "not the password at all")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
            var html = await wrong.Content.ReadAsStringAsync();
            Assert.Contains("current password is not right", html, StringComparison.Ordinal);
            Assert.Contains("value=\"after@example.com\"", html, StringComparison.Ordinal); // what was typed is kept
        }

        foreach (var (typed, says) in new[] { ("not an address", "Enter an email address"), ("Before@Example.com", "already") })
        {
            using var refused = await browser.SubmitAsync("/account", "/account/email", ("email", typed), ("password", Password));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            Assert.Contains(says, await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var asked = await browser.SubmitAsync("/account", "/account/email", ("email", "After@example.com"), ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
            Assert.Contains("A link to confirm after@example.com is on its way", await asked.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var mail = Assert.Single(await h.MailsToAsync("after@example.com", 1));
        var token = ChangeLink().Match(mail.TextBody ?? "").Groups[1].Value;
        Assert.NotEmpty(token);
        Assert.StartsWith(h.Portal.Url.TrimEnd('/') + "/account/email/", ChangeLink().Match(mail.TextBody!).Value, StringComparison.Ordinal);
        Assert.Equal("before@example.com", (await h.Store.GetAccountAsync((await h.Store.FindAccountByEmailAsync("before@example.com"))!.Id))!.Email);

        // Whoever holds the new mailbox needs the account's password too; a wrong one keeps the link.
        using var opener = h.NewBrowser();
        Assert.Contains($"action=\"/account/email/{token}\"", await opener.PageAsync($"/account/email/{token}"), StringComparison.Ordinal);
        using (var wrong = await opener.SubmitAsync($"/account/email/{token}", $"/account/email/{token}", ("password", "not the password at all")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        Assert.NotNull(await h.Store.FindAccountByEmailAsync("before@example.com"));
        using (var confirmed = await opener.SubmitAsync($"/account/email/{token}", $"/account/email/{token}", ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Redirect, confirmed.StatusCode);
            Assert.Equal("/account?done=email", confirmed.Headers.Location?.OriginalString);
        }

        Assert.Contains("after@example.com", await opener.PageAsync("/account?done=email"), StringComparison.Ordinal);
        using (var ended = await other.GetAsync("/apps"))
        {
            Assert.Equal(HttpStatusCode.Redirect, ended.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await LogInAsync(h, "before@example.com", Password));
        Assert.Equal(HttpStatusCode.Redirect, await LogInAsync(h, "after@example.com", Password));
        var told = Assert.Single(await h.MailsToAsync("before@example.com", 1));
        Assert.Contains("was changed to after@example.com", told.TextBody, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", key)); // the applications and keys stay

        using (var again = await h.NewBrowser().SubmitAsync($"/account/email/{token}", $"/account/email/{token}", ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        }

        var change = (await h.Store.ListConsumerChangesAsync(null, 100)).Single(c => c.Action == "email");
        Assert.Equal("portal:before@example.com", change.Actor);
    }

    [Fact]
    public async Task ToAnAddressWithAnAccount_ThePageSaysTheSame_NothingChanges_AndOnlyThatAddressIsTold()
    {
        await using var h = await PortalHarness.StartAsync();
        using var mover = await h.ConsumerAsync("mover@example.com");
        using var holder = await h.ConsumerAsync("holder@example.com");

        string text;
        using (var asked = await mover.SubmitAsync("/account", "/account/email", ("email", "holder@example.com"), ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
            text = await asked.Content.ReadAsStringAsync();
            Assert.Contains("A link to confirm holder@example.com is on its way", text, StringComparison.Ordinal);
        }

        var note = Assert.Single(await h.MailsToAsync("holder@example.com", 1));
        Assert.Contains("already has an account. Nothing was changed", note.TextBody, StringComparison.Ordinal);
        Assert.DoesNotMatch(ChangeLink(), note.TextBody ?? "");
        Assert.NotNull(await h.Store.FindAccountByEmailAsync("mover@example.com"));
        Assert.Equal(0, MailCount(h, "mover@example.com"));
    }

    [Fact]
    public async Task AnAddressTakenWhileTheLinkWaited_IsRefusedAtTheLink_AndTheAccountKeepsItsAddress()
    {
        await using var h = await PortalHarness.StartAsync();
        using var mover = await h.ConsumerAsync("slow@example.com");
        using (var asked = await mover.SubmitAsync("/account", "/account/email", ("email", "contested@example.com"), ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
        }

        var token = ChangeLink().Match(Assert.Single(await h.MailsToAsync("contested@example.com", 1)).TextBody ?? "").Groups[1].Value;
        using var first = await h.ConsumerAsync("contested@example.com");
        using (var late = await mover.SubmitAsync($"/account/email/{token}", $"/account/email/{token}", ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Conflict, late.StatusCode);
            Assert.Contains("Another account has signed up with this address", await late.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.NotNull(await h.Store.FindAccountByEmailAsync("slow@example.com"));
        Assert.Equal(HttpStatusCode.Redirect, await LogInAsync(h, "slow@example.com", Password));
    }

    [Fact]
    public async Task TheName_ChangesFromTheAccountPage_WithinTheSignUpRules()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("named@example.com");
        Assert.Contains("value=\"T named@example.com\"", await browser.PageAsync("/account"), StringComparison.Ordinal);

        using (var empty = await browser.SubmitAsync("/account", "/account/name", ("title", "   ")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, empty.StatusCode);
            Assert.Contains("Enter a name of 1 to 100 characters", await empty.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var renamed = await browser.SubmitAsync("/account", "/account/name", ("title", "  Ada's Shop  ")))
        {
            Assert.Equal(HttpStatusCode.Redirect, renamed.StatusCode);
            Assert.Equal("/account?done=name", renamed.Headers.Location?.OriginalString);
        }

        Assert.Equal("Ada's Shop", (await h.Store.FindAccountByEmailAsync("named@example.com"))!.Title);
        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 100), c => c is { Action: "rename", Actor: "portal:named@example.com" });
    }

    [Fact]
    public async Task TheAdminApi_ChangesAnAccountsAddressAndName_OnItsWord_AndRefusesATakenAddress()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("lost-mailbox@example.com");
        using var other = await h.ConsumerAsync("someone-else@example.com");
        var account = (await h.Store.FindAccountByEmailAsync("lost-mailbox@example.com"))!;
        using var admin = h.AdminClient();

        foreach (var (body, status) in new[]
        {
            ("""{"email":"someone-else@example.com"}""", HttpStatusCode.Conflict),
            ("""{"email":"not an address"}""", HttpStatusCode.UnprocessableEntity),
            ("""{"title":""}""", HttpStatusCode.UnprocessableEntity),
            ("""{}""", HttpStatusCode.BadRequest),
            ("""{"state":"active"}""", HttpStatusCode.BadRequest),
            ("""{"email":7}""", HttpStatusCode.BadRequest),
        })
        {
            using var refused = await admin.PatchAsync($"/admin/portal/accounts/{account.Id}", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
            Assert.True(status == refused.StatusCode, $"{body}: {refused.StatusCode}, {await refused.Content.ReadAsStringAsync()}");
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(("lost-mailbox@example.com", "T lost-mailbox@example.com"), ((await h.Store.GetAccountAsync(account.Id))!.Email, (await h.Store.GetAccountAsync(account.Id))!.Title));
        using (var missing = await admin.PatchAsync("/admin/portal/accounts/acc-none", new StringContent("""{"title":"x"}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using (var changed = await admin.PatchAsync($"/admin/portal/accounts/{account.Id}", new StringContent("""{"email":"New-Mailbox@example.com","title":"Renamed"}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        }

        var now = (await h.Store.GetAccountAsync(account.Id))!;
        Assert.Equal(("new-mailbox@example.com", "Renamed"), (now.Email, now.Title));
        using (var ended = await browser.GetAsync("/apps"))
        {
            Assert.Equal(HttpStatusCode.Redirect, ended.StatusCode); // the address changed: the session made with the old one ended
        }

        Assert.Equal(HttpStatusCode.Redirect, await LogInAsync(h, "new-mailbox@example.com", Password));
        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 100), c => c is { Action: "email", Actor: "admin-api" });
    }

    [GeneratedRegex(@"https?://[^\s]+/account/email/([A-Za-z0-9_-]+)")]
    private static partial Regex ChangeLink();
}
