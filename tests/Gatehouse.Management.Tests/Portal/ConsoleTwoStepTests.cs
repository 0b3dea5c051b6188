using System.Net;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Two-step sign-in for console users: set up with an authenticator app's code, asked for at every sign-in after the
/// password, each code taken once, recovery codes once each, turned off by the user (with a code) or an administrator,
/// and required of everyone by a setting. The codes are computed here by RFC 6238 itself, not by the library the console uses.
/// </summary>
[Trait("Issue", "18")]
public sealed partial class ConsoleTwoStepTests
{
    private const string Password = "a console pass phrase";

    [Fact]
    public async Task TwoStepSignIn_IsSetUpWithACodeFromTheApp_ThenEverySignInTakesAFreshCode_OrARecoveryCodeOnce()
    {
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time);
        await ConsoleTests.CreateUserAsync(h, "two@example.com", "admin");
        using var browser = await SignInAsync(h, "two@example.com");
        using var other = await SignInAsync(h, "two@example.com");

        // The set-up: a key, its QR code (an SVG image), and a form that takes a code from the app and the password.
        var page = await browser.PageAsync("/console/account");
        var key = KeyOf(page);
        Assert.Matches("^[A-Z2-7]{32}$", key);
        var image = WebUtility.HtmlDecode(Regex.Match(page, "<img src=\"(data:[^\"]+)\"").Groups[1].Value);
        Assert.StartsWith("data:image/svg+xml;base64,", image, StringComparison.Ordinal);
        Assert.StartsWith("<svg", Encoding.UTF8.GetString(Convert.FromBase64String(image["data:image/svg+xml;base64,".Length..])).TrimStart(), StringComparison.Ordinal);
        var setup = SetupOf(page);
        var token = Browser.TokenOf(page);
        var code = Totp(key, time.GetUtcNow());
        using (var wrong = await browser.PostAsync("/console/account/two-step", ("setup", setup), ("code", Wrong(code)), ("current", Password), ("__RequestVerificationToken", token)))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, wrong.StatusCode);
        }

        using (var badPassword = await browser.PostAsync("/console/account/two-step", ("setup", setup), ("code", code), ("current", "not the pass phrase"), ("__RequestVerificationToken", token)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, badPassword.StatusCode);
        }

        using (var forged = await browser.PostAsync("/console/account/two-step", ("setup", "not-a-setup"), ("code", code), ("current", Password), ("__RequestVerificationToken", token)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }

        Assert.False((await h.Store.GetAdminUserAsync("two@example.com"))!.TwoStep);
        string shown;
        using (var on = await browser.PostAsync("/console/account/two-step", ("setup", setup), ("code", code), ("current", Password), ("__RequestVerificationToken", token)))
        {
            // Post, redirect, get: the codes are shown by the page it redirects to, once.
            Assert.Equal(HttpStatusCode.Redirect, on.StatusCode);
            using var codesPage = await browser.GetAsync(on.Headers.Location!.OriginalString);
            Assert.Equal("no-store", codesPage.Headers.CacheControl?.ToString());
            shown = await codesPage.Content.ReadAsStringAsync();
            Assert.Contains("Two-step sign-in is on", shown, StringComparison.Ordinal);
        }

        string[] recovery = [.. RecoveryCode().Matches(shown).Select(m => m.Value)];
        Assert.Empty(RecoveryCode().Matches(await browser.PageAsync("/console/account")));
        Assert.Equal(10, recovery.Distinct().Count());
        var stored = (await h.Store.GetAdminUserAsync("two@example.com"))!;
        Assert.True(stored.TwoStep);
        Assert.DoesNotContain(key, stored.TotpSecret!, StringComparison.Ordinal); // kept protected, not as typed into the app
        Assert.Equal(10, stored.RecoveryCodes!.Count);
        Assert.DoesNotContain(recovery[0].Replace("-", "", StringComparison.Ordinal), string.Join(' ', stored.RecoveryCodes), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(browser)); // this session was made again
        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(other)); // every other one ended
        Assert.Contains("10 of 10 recovery codes are left", await browser.PageAsync("/console/account"), StringComparison.Ordinal);
        // The page with the codes is the new session's: its forms work.
        using (var signOut = await browser.PostAsync("/console/logout", ("__RequestVerificationToken", Browser.TokenOf(shown))))
        {
            Assert.Equal(HttpStatusCode.Redirect, signOut.StatusCode);
        }

        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(browser));

        // The password alone no longer signs in: it leads to the second form. The code that turned it on is spent.
        using var fresh = new Browser(h.Admin.Url);
        var (ticket, formToken) = await PasswordStepAsync(fresh, "two@example.com");
        using (var replay = await fresh.PostAsync("/console/login/code", ("ticket", ticket), ("code", code), ("__RequestVerificationToken", formToken)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
            Assert.Contains("used already", await replay.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(fresh)); // not signed in by the password alone
        using (var forged = await fresh.PostAsync("/console/login/code", ("ticket", ticket + "x"), ("code", code), ("__RequestVerificationToken", formToken)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
        }

        time.Advance(TimeSpan.FromSeconds(30));
        var next = Totp(key, time.GetUtcNow());
        using (var signed = await fresh.PostAsync("/console/login/code?returnUrl=%2Fconsole%2Faudit", ("ticket", ticket), ("code", next), ("__RequestVerificationToken", formToken)))
        {
            Assert.Equal(HttpStatusCode.Redirect, signed.StatusCode);
            Assert.Equal("/console/audit", signed.Headers.Location?.OriginalString);
        }

        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(fresh));
        lock (h.Logs)
        {
            // The sign-ins and refusals are in the log, without a code.
            Assert.Contains(h.Logs, l => l.StartsWith("Console sign-in: two@example.com (role admin) from ", StringComparison.Ordinal) && l.EndsWith(" with a password and an authenticator code", StringComparison.Ordinal));
            Assert.Contains(h.Logs, l => l.StartsWith("Console sign-in refused: two@example.com from ", StringComparison.Ordinal) && l.EndsWith(": a wrong or used code", StringComparison.Ordinal));
            Assert.DoesNotContain(h.Logs, l => l.Contains(next, StringComparison.Ordinal) || l.Contains(code, StringComparison.Ordinal));
        }

        // The same code in another sign-in is refused; a recovery code works once, and its use is in the audit log.
        using var thief = new Browser(h.Admin.Url);
        var (ticket2, token2) = await PasswordStepAsync(thief, "two@example.com");
        using (var replay = await thief.PostAsync("/console/login/code", ("ticket", ticket2), ("code", next), ("__RequestVerificationToken", token2)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, replay.StatusCode);
        }

        using (var byRecovery = await thief.PostAsync("/console/login/code", ("ticket", ticket2), ("code", recovery[3].ToUpperInvariant()), ("__RequestVerificationToken", token2)))
        {
            Assert.Equal(HttpStatusCode.Redirect, byRecovery.StatusCode);
        }

        using var again = new Browser(h.Admin.Url);
        var (ticket3, token3) = await PasswordStepAsync(again, "two@example.com");
        using (var reused = await again.PostAsync("/console/login/code", ("ticket", ticket3), ("code", recovery[3]), ("__RequestVerificationToken", token3)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, reused.StatusCode);
        }

        Assert.Equal(9, (await h.Store.GetAdminUserAsync("two@example.com"))!.RecoveryCodes!.Count);
        lock (h.Logs)
        {
            Assert.Contains(h.Logs, l => l.StartsWith("Console sign-in: two@example.com", StringComparison.Ordinal) && l.EndsWith(" with a password and a recovery code", StringComparison.Ordinal));
        }

        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 20), c => c.Action == "recovery-code" && c.Name == "two@example.com");

        // Guessing is counted apart from passwords: ten wrong codes a minute, then a wait (the right one too).
        for (var i = 0; i < 9; i++)
        {
            using var guess = await again.PostAsync("/console/login/code", ("ticket", ticket3), ("code", $"{i}{i}{i}{i}{i}{i}"), ("__RequestVerificationToken", token3));
            Assert.Equal(HttpStatusCode.Unauthorized, guess.StatusCode);
        }

        time.Advance(TimeSpan.FromSeconds(30));
        using (var limited = await again.PostAsync("/console/login/code", ("ticket", ticket3), ("code", Totp(key, time.GetUtcNow())), ("__RequestVerificationToken", token3)))
        {
            Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        }

        // A ticket does not outlive a change of password made meanwhile.
        time.Advance(TimeSpan.FromMinutes(2));
        using var late = new Browser(h.Admin.Url);
        var (ticket4, token4) = await PasswordStepAsync(late, "two@example.com");
        using (var admin = h.AdminClient())
        using (var put = await admin.PutAsync("/admin/users/two@example.com", new StringContent("""{"password":"a replaced pass phrase","role":"admin"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, put.StatusCode);
            Assert.True((bool)System.Text.Json.Nodes.JsonNode.Parse(await put.Content.ReadAsStringAsync())!["twoStep"]!); // a new password keeps the second step
        }

        using (var stale = await late.PostAsync("/console/login/code", ("ticket", ticket4), ("code", Totp(key, time.GetUtcNow())), ("__RequestVerificationToken", token4)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, stale.StatusCode);
        }
    }

    [Fact]
    public async Task TwoStepSignIn_IsTurnedOffWithACode_OrByAnAdministrator_AndASettingRequiresIt()
    {
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time);
        using var admin = h.AdminClient();
        await ConsoleTests.CreateUserAsync(h, "two@example.com", "admin");
        await ConsoleTests.CreateUserAsync(h, "plain@example.com", "viewer");
        using var browser = await SignInAsync(h, "two@example.com");
        var (key, recovery) = await TurnOnAsync(browser, time);

        // Guesses with the right password are counted too (the right password clears only its own attempts).
        var account = await browser.PageAsync("/console/account");
        for (var i = 0; i < 10; i++)
        {
            using var guess = await browser.PostAsync("/console/account/two-step/off", ("current", Password), ("code", $"{i}{i}{i}{i}{i}{i}"), ("__RequestVerificationToken", Browser.TokenOf(account)));
            Assert.Equal(HttpStatusCode.Unauthorized, guess.StatusCode);
        }

        using (var limited = await browser.PostAsync("/console/account/two-step/off", ("current", Password), ("code", recovery[9]), ("__RequestVerificationToken", Browser.TokenOf(account))))
        {
            Assert.Equal((HttpStatusCode)429, limited.StatusCode);
        }

        Assert.True((await h.Store.GetAdminUserAsync("two@example.com"))!.TwoStep);

        // New recovery codes take the password and a code; the old ones stop working.
        time.Advance(TimeSpan.FromSeconds(61));
        account = await browser.PageAsync("/console/account");
        string[] renewed;
        using (var codes = await browser.PostAsync("/console/account/two-step/codes", ("current", Password), ("code", Totp(key, time.GetUtcNow())),
                   ("__RequestVerificationToken", Browser.TokenOf(account))))
        {
            Assert.Equal(HttpStatusCode.Redirect, codes.StatusCode);
            renewed = [.. RecoveryCode().Matches(await browser.PageAsync(codes.Headers.Location!.OriginalString)).Select(m => m.Value)];
        }

        Assert.Equal(10, renewed.Length);
        Assert.Empty(renewed.Intersect(recovery));
        account = await browser.PageAsync("/console/account");
        using (var old = await browser.PostAsync("/console/account/two-step/off", ("current", Password), ("code", recovery[0]), ("__RequestVerificationToken", Browser.TokenOf(account))))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        }

        using (var off = await browser.PostAsync("/console/account/two-step/off", ("current", Password), ("code", renewed[0]), ("__RequestVerificationToken", Browser.TokenOf(account))))
        {
            Assert.Equal(HttpStatusCode.Redirect, off.StatusCode);
        }

        Assert.False((await h.Store.GetAdminUserAsync("two@example.com"))!.TwoStep);
        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(browser));
        using (await SignInAsync(h, "two@example.com"))
        {
        }

        // An administrator turns it off for a user who lost their phone; the user's sessions end.
        (key, _) = await TurnOnAsync(browser, time);
        var users = System.Text.Json.Nodes.JsonNode.Parse(await admin.GetStringAsync("/admin/users"))!["items"]!.AsArray();
        var listed = users.Single(u => (string?)u!["email"] == "two@example.com")!;
        Assert.Equal((true, 10), ((bool)listed["twoStep"]!, (int)listed["recoveryCodesLeft"]!));
        Assert.False((bool)users.Single(u => (string?)u!["email"] == "plain@example.com")!["twoStep"]!);
        using (var reset = await admin.DeleteAsync("/admin/users/two@example.com/two-step"))
        {
            Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
            Assert.False((bool)System.Text.Json.Nodes.JsonNode.Parse(await reset.Content.ReadAsStringAsync())!["twoStep"]!);
        }

        using (var missing = await admin.DeleteAsync("/admin/users/nobody@example.com/two-step"))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
            Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
        }

        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(browser));

        // Required of everyone: a user without it may only set it up; the admin token's session is not held to it.
        using (var bad = await admin.PutAsync("/admin/console/settings", new StringContent("""{"twoStepRequired":"yes"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
            Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        }

        using (var required = await admin.PutAsync("/admin/console/settings", new StringContent("""{"twoStepRequired":true}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, required.StatusCode);
        }

        Assert.True((bool)System.Text.Json.Nodes.JsonNode.Parse(await admin.GetStringAsync("/admin/console/settings"))!["twoStepRequired"]!);
        using var plain = await SignInAsync(h, "plain@example.com", expectPending: false);
        using (var pending = await plain.GetAsync("/console/pending"))
        {
            Assert.Equal(HttpStatusCode.Redirect, pending.StatusCode);
            Assert.Equal("/console/account#two-step", pending.Headers.Location?.OriginalString);
        }

        using (var analytics = await plain.GetAsync("/console/analytics"))
        {
            Assert.Equal(HttpStatusCode.Redirect, analytics.StatusCode);
            Assert.Equal("/console/account#two-step", analytics.Headers.Location?.OriginalString);
        }

        var plainAccount = await plain.PageAsync("/console/account");
        using (var post = await plain.PostAsync("/console/revisions/1/rollback", ("__RequestVerificationToken", Browser.TokenOf(plainAccount))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, post.StatusCode);
            Assert.Contains("Two-step sign-in is required here", await post.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Contains("Two-step sign-in is required here", plainAccount, StringComparison.Ordinal);
        using (var post = await plain.PostAsync("/console/logout", ("__RequestVerificationToken", Browser.TokenOf(plainAccount))))
        {
            Assert.Equal(HttpStatusCode.Redirect, post.StatusCode); // signing out is always allowed
        }

        using var token = new Browser(h.Admin.Url);
        using (var login = await token.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken)))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(token));
        var access = await token.PageAsync("/console/access");
        Assert.Contains("/console/access/users/two%40example.com/delete", access, StringComparison.Ordinal);

        // Set up while required, it cannot be turned off; and the console's own reset button works like the API's.
        using var two = await SignInAsync(h, "two@example.com", expectPending: false);
        (key, _) = await TurnOnAsync(two, time);
        Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(two));
        account = await two.PageAsync("/console/account");
        Assert.DoesNotContain("/console/account/two-step/off", account, StringComparison.Ordinal);
        time.Advance(TimeSpan.FromSeconds(30));
        using (var off = await two.PostAsync("/console/account/two-step/off", ("current", Password), ("code", Totp(key, time.GetUtcNow())), ("__RequestVerificationToken", Browser.TokenOf(account))))
        {
            Assert.Equal(HttpStatusCode.Conflict, off.StatusCode);
        }

        access = await token.PageAsync("/console/access");
        Assert.Contains("on (10 recovery codes left)", access, StringComparison.Ordinal);
        using (var reset = await token.PostAsync("/console/access/users/two%40example.com/two-step/off", ("confirm", "yes"), ("__RequestVerificationToken", Browser.TokenOf(access))))
        {
            Assert.Equal(HttpStatusCode.Redirect, reset.StatusCode);
        }

        Assert.False((await h.Store.GetAdminUserAsync("two@example.com"))!.TwoStep);
        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 5), c => c.Actor == "console:admin-token" && c.Name == "two@example.com" && c.Before!.Contains("\"twoStep\":true", StringComparison.Ordinal));
    }

    internal static async Task<Browser> SignInAsync(PortalHarness h, string email, bool expectPending = true)
    {
        var browser = new Browser(h.Admin.Url);
        using var login = await browser.SubmitPastBusyAsync("/console/login", "/console/login", ("email", email), ("password", Password));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        if (expectPending)
        {
            Assert.Equal(HttpStatusCode.OK, await ConsoleTests.PendingStatusAsync(browser));
        }

        return browser;
    }

    // The password step of a user with two-step sign-in: the second form, its ticket and its antiforgery token.
    private static async Task<(string Ticket, string Token)> PasswordStepAsync(Browser browser, string email)
    {
        using var login = await browser.SubmitPastBusyAsync("/console/login", "/console/login", ("email", email), ("password", Password));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode);
        var page = await login.Content.ReadAsStringAsync();
        Assert.Contains("authenticator app", page, StringComparison.Ordinal);
        return (Regex.Match(page, "name=\"ticket\" value=\"([^\"]+)\"").Groups[1].Value, Browser.TokenOf(page));
    }

    internal static async Task<(string Key, string[] Recovery)> TurnOnAsync(Browser browser, FakeTime time)
    {
        time.Advance(TimeSpan.FromSeconds(30));
        var page = await browser.PageAsync("/console/account");
        var key = KeyOf(page);
        using var on = await browser.PostAsync("/console/account/two-step", ("setup", SetupOf(page)), ("code", Totp(key, time.GetUtcNow())), ("current", Password),
            ("__RequestVerificationToken", Browser.TokenOf(page)));
        Assert.Equal(HttpStatusCode.Redirect, on.StatusCode);
        return (key, [.. RecoveryCode().Matches(await browser.PageAsync(on.Headers.Location!.OriginalString)).Select(m => m.Value)]);
    }

    private static string KeyOf(string page) => Regex.Match(page, "id=\"two-step-key\">([A-Z2-7]+)<").Groups[1].Value;

    private static string SetupOf(string page) => Regex.Match(page, "name=\"setup\" value=\"([^\"]+)\"").Groups[1].Value;

    private static string Wrong(string code) => ((int.Parse(code, System.Globalization.CultureInfo.InvariantCulture) + 1) % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);

    internal static string Totp(string base32Key, DateTimeOffset at) => Gatehouse.Tests.Support.Rfc6238.Code(base32Key, at);

    [GeneratedRegex("\\b[a-z2-9]{5}-[a-z2-9]{5}\\b")]
    private static partial Regex RecoveryCode();
}
