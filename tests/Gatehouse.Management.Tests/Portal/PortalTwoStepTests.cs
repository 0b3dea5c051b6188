using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Tests.Support;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Two-step sign-in for portal accounts: set up on the account page with the app's code and the password, asked for
/// after the password at every sign-in, each code taken once, recovery codes once each, renewed or turned off with the
/// password and a code, turned off by an administrator; and a mailed link with the password is not a second step.
/// </summary>
[Trait("Issue", "18")]
public sealed partial class PortalTwoStepTests
{
    private const string Password = "a long enough pass phrase";

    [Fact]
    public async Task APortalAccount_TurnsTwoStepSignInOn_ThenSignsInWithAFreshCodeOrARecoveryCodeOnce_AndTurnsItOff()
    {
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time);
        using var browser = await h.ConsumerAsync("two@example.com");
        using var other = h.NewBrowser();
        using (var login = await other.SubmitAsync("/login", "/login", ("email", "two@example.com"), ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        var account = (await h.Store.FindAccountByEmailAsync("two@example.com"))!;
        var page = await browser.PageAsync("/account");
        var key = Regex.Match(page, "id=\"two-step-key\">([A-Z2-7]+)<").Groups[1].Value;
        var setup = Regex.Match(page, "name=\"setup\" value=\"([^\"]+)\"").Groups[1].Value;
        var token = Browser.TokenOf(page);
        var code = Rfc6238.Code(key, time.GetUtcNow());
        using (var wrongPassword = await browser.PostAsync("/account/two-step", ("setup", setup), ("code", code), ("current", "not the pass phrase"), ("__RequestVerificationToken", token)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword.StatusCode);
        }

        using (var forged = await browser.PostAsync("/account/two-step", ("setup", "not-a-setup"), ("code", code), ("current", Password), ("__RequestVerificationToken", token)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }

        Assert.Null(await h.Store.GetAccountTwoStepAsync(account.Id));
        string[] recovery;
        using (var on = await browser.PostAsync("/account/two-step", ("setup", setup), ("code", code), ("current", Password), ("__RequestVerificationToken", token)))
        {
            Assert.Equal(HttpStatusCode.Redirect, on.StatusCode);
            var shown = await browser.PageAsync(on.Headers.Location!.OriginalString);
            Assert.Contains("Two-step sign-in is on", shown, StringComparison.Ordinal);
            recovery = [.. RecoveryCode().Matches(shown).Select(m => m.Value)];
        }

        Assert.Equal(10, recovery.Distinct().Count());
        Assert.Empty(RecoveryCode().Matches(await browser.PageAsync("/account"))); // shown once
        var stored = (await h.Store.GetAccountTwoStepAsync(account.Id))!;
        Assert.DoesNotContain(key, stored.TotpSecret, StringComparison.Ordinal);
        Assert.Equal(10, stored.RecoveryCodes.Count);
        Assert.Contains("10 of 10 recovery codes are left", await browser.PageAsync("/account"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Redirect, (await other.GetAsync("/apps")).StatusCode); // the other session ended

        // Signing in: the password leads to the second form; the code that turned it on is spent; the next one works.
        using var fresh = h.NewBrowser();
        var (ticket, formToken) = await PasswordStepAsync(fresh, "two@example.com");
        using (var replay = await fresh.PostAsync("/login/code", ("ticket", ticket), ("code", code), ("__RequestVerificationToken", formToken)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Redirect, (await fresh.GetAsync("/apps")).StatusCode);
        time.Advance(TimeSpan.FromSeconds(30));
        var next = Rfc6238.Code(key, time.GetUtcNow());
        using (var signed = await fresh.PostAsync("/login/code?returnUrl=%2Faccount", ("ticket", ticket), ("code", next), ("__RequestVerificationToken", formToken)))
        {
            Assert.Equal(HttpStatusCode.Redirect, signed.StatusCode);
            Assert.Equal("/account", signed.Headers.Location?.OriginalString);
        }

        Assert.Equal(HttpStatusCode.OK, (await fresh.GetAsync("/apps")).StatusCode);

        using var thief = h.NewBrowser();
        var (ticket2, token2) = await PasswordStepAsync(thief, "two@example.com");
        using (var replay = await thief.PostAsync("/login/code", ("ticket", ticket2), ("code", next), ("__RequestVerificationToken", token2)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        }

        using (var byRecovery = await thief.PostAsync("/login/code", ("ticket", ticket2), ("code", recovery[2]), ("__RequestVerificationToken", token2)))
        {
            Assert.Equal(HttpStatusCode.Redirect, byRecovery.StatusCode);
        }

        using var again = h.NewBrowser();
        var (ticket3, token3) = await PasswordStepAsync(again, "two@example.com");
        using (var reused = await again.PostAsync("/login/code", ("ticket", ticket3), ("code", recovery[2]), ("__RequestVerificationToken", token3)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, reused.StatusCode);
        }

        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 20), c => c.Action == "recovery-code" && c.Kind == "account" && c.Name == account.Id);

        // A password reset from a mailed link does not get past the second step: the new password still asks for a code.
        account = (await h.Store.FindAccountByEmailAsync("two@example.com"))!;
        Assert.Null(await h.Admin.ConsumerService.SetPasswordAsync(account.Id, "a reset pass phrase", "portal:reset", default, mailboxProven: true));
        using var afterReset = h.NewBrowser();
        using (var login = await afterReset.SubmitAsync("/login", "/login", ("email", "two@example.com"), ("password", "a reset pass phrase")))
        {
            Assert.Equal(HttpStatusCode.OK, login.StatusCode);
            Assert.Contains("name=\"ticket\"", await login.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Redirect, (await afterReset.GetAsync("/apps")).StatusCode);

        // Off, with the password and a recovery code; then the password alone signs in.
        using var owner = h.NewBrowser();
        var (ticket4, token4) = await PasswordStepAsync(owner, "two@example.com", "a reset pass phrase");
        time.Advance(TimeSpan.FromSeconds(30));
        using (var signed = await owner.PostAsync("/login/code", ("ticket", ticket4), ("code", Rfc6238.Code(key, time.GetUtcNow())), ("__RequestVerificationToken", token4)))
        {
            Assert.Equal(HttpStatusCode.Redirect, signed.StatusCode);
        }

        var accountPage = await owner.PageAsync("/account");
        // Guesses with the right password are counted too (the right password clears only its own attempts): ten a minute.
        for (var i = 0; i < 10; i++)
        {
            using var wrong = await owner.PostAsync("/account/two-step/off", ("current", "a reset pass phrase"), ("code", $"{i}{i}{i}{i}{i}{i}"), ("__RequestVerificationToken", Browser.TokenOf(accountPage)));
            Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        }

        using (var limited = await owner.PostAsync("/account/two-step/off", ("current", "a reset pass phrase"), ("code", recovery[5]), ("__RequestVerificationToken", Browser.TokenOf(accountPage))))
        {
            Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        }

        time.Advance(TimeSpan.FromSeconds(61));

        using (var off = await owner.PostAsync("/account/two-step/off", ("current", "a reset pass phrase"), ("code", recovery[5]), ("__RequestVerificationToken", Browser.TokenOf(accountPage))))
        {
            Assert.Equal(HttpStatusCode.Redirect, off.StatusCode);
        }

        Assert.Null(await h.Store.GetAccountTwoStepAsync(account.Id));
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/apps")).StatusCode); // this session was made again
        using var plain = h.NewBrowser();
        using (var login = await plain.SubmitAsync("/login", "/login", ("email", "two@example.com"), ("password", "a reset pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }
    }

    [Fact]
    public async Task AnAdministrator_TurnsAnAccountsTwoStepOff_AndAMailedLinkWithThePasswordIsNoSecondStep()
    {
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time);
        using var browser = await h.ConsumerAsync("moving@example.com");
        var account = (await h.Store.FindAccountByEmailAsync("moving@example.com"))!;
        var key = await TurnOnAsync(browser, time);

        // A change of address asked for in this session, confirmed from the link in another browser with the password:
        // the address changes, but that browser is not signed in (it has not given a code).
        var accountPage = await browser.PageAsync("/account");
        using (var ask = await browser.PostAsync("/account/email", ("email", "moved@example.com"), ("password", Password), ("__RequestVerificationToken", Browser.TokenOf(accountPage))))
        {
            Assert.Equal(HttpStatusCode.OK, ask.StatusCode);
        }

        var mail = (await h.MailsToAsync("moved@example.com", 1)).Single();
        var link = Regex.Match(mail.TextBody!, @"/account/email/[A-Za-z0-9_-]+").Value;
        using var elsewhere = h.NewBrowser();
        using (var confirmed = await elsewhere.SubmitAsync(link, link, ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.OK, confirmed.StatusCode);
            Assert.Contains("a code from your app", await confirmed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal("moved@example.com", (await h.Store.GetAccountAsync(account.Id))!.Email);
        Assert.Equal(HttpStatusCode.Redirect, (await elsewhere.GetAsync("/apps")).StatusCode);

        // The administrator's reset: off, sessions ended, the password alone signs in; the change log says who.
        using var admin = h.AdminClient();
        using (var missing = await admin.DeleteAsync("/admin/portal/accounts/acc-nobody/two-step"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        }

        using (var reset = await admin.DeleteAsync($"/admin/portal/accounts/{account.Id}/two-step"))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        }

        Assert.Null(await h.Store.GetAccountTwoStepAsync(account.Id));
        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 5), c => c.Action == "two-step-off" && c.Name == account.Id && c.Actor.StartsWith("admin", StringComparison.Ordinal));
        using var signIn = h.NewBrowser();
        using (var login = await signIn.SubmitAsync("/login", "/login", ("email", "moved@example.com"), ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        // The console shows it on the Accounts page, with a button that does the same.
        key = await TurnOnAsync(signIn, time);
        using var console = new Browser(h.Admin.Url);
        using (var login = await console.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken)))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        var accounts = await console.PageAsync("/console/accounts");
        Assert.Matches($"<td>moved@example.com</td><td>[^<]*</td><td>active</td><td>on</td><td>not bound</td><td>0</td><td>{account.Id}</td>", accounts);
        using (var off = await console.PostAsync($"/console/accounts/{account.Id}/two-step/off", ("confirm", "yes"), ("__RequestVerificationToken", Browser.TokenOf(accounts))))
        {
            Assert.Equal(HttpStatusCode.Redirect, off.StatusCode);
        }

        Assert.Null(await h.Store.GetAccountTwoStepAsync(account.Id));
        Assert.Matches($"<td>moved@example.com</td><td>[^<]*</td><td>active</td><td>off</td><td>not bound</td><td>0</td><td>{account.Id}</td>", await console.PageAsync("/console/accounts"));
        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 3), c => c.Action == "two-step-off" && c.Actor == "console:admin-token");

        Assert.Equal(HttpStatusCode.Redirect, (await signIn.GetAsync("/apps")).StatusCode); // its sessions ended

        // Deleting the account takes its two-step sign-in with it.
        using var last = h.NewBrowser();
        using (var login = await last.SubmitAsync("/login", "/login", ("email", "moved@example.com"), ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        key = await TurnOnAsync(last, time);
        Assert.NotNull(await h.Store.GetAccountTwoStepAsync(account.Id));
        Assert.True(await h.Store.DeleteAccountAsync(account.Id, "admin-api"));
        Assert.Null(await h.Store.GetAccountTwoStepAsync(account.Id));
    }

    /// <summary>With portal.twoStepRequired an account may use its applications' pages only with two-step sign-in on; its keys keep working.</summary>
    [Fact]
    public async Task APortalThatRequiresTwoStep_SendsAnAccountWithoutItToSetItUp_AndKeepsItOn()
    {
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time);
        using var browser = await h.ConsumerAsync("required@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail");
        using var admin = h.AdminClient();
        using (var set = await admin.PutAsync("/admin/portal/settings", new System.Net.Http.StringContent("""{"twoStepRequired":true}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
            Assert.True((bool)System.Text.Json.Nodes.JsonNode.Parse(await set.Content.ReadAsStringAsync())!["twoStepRequired"]!);
        }

        using (var apps = await browser.GetAsync("/apps"))
        {
            Assert.Equal(HttpStatusCode.Redirect, apps.StatusCode);
            Assert.Equal("/account#two-step", apps.Headers.Location?.OriginalString);
        }

        var page = await browser.PageAsync("/account");
        Assert.Contains("Two-step sign-in is required here", page, StringComparison.Ordinal);
        using (var revoke = await browser.PostAsync($"/apps/{id}/keys/{key[..8]}/revoke", ("__RequestVerificationToken", Browser.TokenOf(page))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, revoke.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", key)); // nothing was changed, and the key works

        var secret = await TurnOnAsync(browser, time);
        Assert.Equal(HttpStatusCode.OK, (await browser.GetAsync("/apps")).StatusCode);
        page = await browser.PageAsync("/account");
        Assert.DoesNotContain("/account/two-step/off", page, StringComparison.Ordinal);
        time.Advance(TimeSpan.FromSeconds(30));
        using (var off = await browser.PostAsync("/account/two-step/off", ("current", Password), ("code", Rfc6238.Code(secret, time.GetUtcNow())), ("__RequestVerificationToken", Browser.TokenOf(page))))
        {
            Assert.Equal(HttpStatusCode.Conflict, off.StatusCode);
        }

        Assert.NotNull(await h.Store.GetAccountTwoStepAsync((await h.Store.FindAccountByEmailAsync("required@example.com"))!.Id));
    }

    // The password step of an account with two-step sign-in: the second form's ticket and antiforgery token.
    private static async Task<(string Ticket, string Token)> PasswordStepAsync(Browser browser, string email, string password = Password)
    {
        using var login = await browser.SubmitAsync("/login", "/login", ("email", email), ("password", password));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var page = await login.Content.ReadAsStringAsync();
        return (Regex.Match(page, "name=\"ticket\" value=\"([^\"]+)\"").Groups[1].Value, Browser.TokenOf(page));
    }

    internal static async Task<string> TurnOnAsync(Browser browser, FakeTime time)
    {
        time.Advance(TimeSpan.FromSeconds(30));
        var page = await browser.PageAsync("/account");
        var key = Regex.Match(page, "id=\"two-step-key\">([A-Z2-7]+)<").Groups[1].Value;
        using var on = await browser.PostAsync("/account/two-step", ("setup", Regex.Match(page, "name=\"setup\" value=\"([^\"]+)\"").Groups[1].Value),
            ("code", Rfc6238.Code(key, time.GetUtcNow())), ("current", Password), ("__RequestVerificationToken", Browser.TokenOf(page)));
        Assert.Equal(HttpStatusCode.Redirect, on.StatusCode);
        return key;
    }

    [GeneratedRegex("\\b[a-z2-9]{5}-[a-z2-9]{5}\\b")]
    private static partial Regex RecoveryCode();
}
