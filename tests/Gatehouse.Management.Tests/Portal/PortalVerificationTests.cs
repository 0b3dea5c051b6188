using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Consumers;
using MimeKit;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: addresses confirmed by mail (portal setting <c>emailVerification</c>). A sign-up cannot sign in until the
/// mailed link is opened with its password; the page never tells whether an address had an account; a squatter cannot
/// hold an address or get it confirmed with their password.
/// </summary>
[Trait("Issue", "18")]
public sealed partial class PortalVerificationTests
{
    private const string Password = "a long enough pass phrase";

    private static HttpClient Admin(PortalHarness h) => h.AdminClient();

    private static async Task VerificationOnAsync(PortalHarness h)
    {
        using var admin = Admin(h);
        using var set = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"emailVerification":true}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        var body = JsonNode.Parse(await set.Content.ReadAsStringAsync())!;
        Assert.True(body["emailVerification"]!.GetValue<bool>());
        Assert.False(body["accountApproval"]!.GetValue<bool>());
    }

    private static async Task<(HttpStatusCode Status, string Text)> SignUpAsync(Browser browser, string email, string password)
    {
        using var response = await browser.SubmitAsync("/signup", "/signup", ("email", email), ("title", "Someone"), ("password", password));
        var html = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, Regex.Match(html, "<main[^>]*>(.*)</main>", RegexOptions.Singleline).Groups[1].Value);
    }

    private static string VerifyToken(MimeMessage mail) => VerifyLink().Match(mail.TextBody ?? "").Groups[1].Value;

    /// <summary>
    /// An address never confirmed is not kept for ever: a week after the sign-up, once its last link has expired, the
    /// hourly sweep deletes the account; a confirmed one, and an old one whose newest link still works, stay.
    /// </summary>
    [Fact]
    public async Task AnAccountNeverConfirmed_IsDeletedAWeekAfterItsSignUp_AConfirmedOneStays()
    {
        var time = new Gatehouse.Management.Tests.Support.FakeTime(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));
        await using var h = await PortalHarness.StartAsync(time);
        await VerificationOnAsync(h);
        using var browser = h.NewBrowser();
        foreach (var email in (string[])["never@example.com", "renewed@example.com", "confirmed@example.com"])
        {
            Assert.Equal(HttpStatusCode.OK, (await SignUpAsync(browser, email, Password)).Status);
            await h.MailsToAsync(email, 1);
        }

        var link = VerifyToken((await h.MailsToAsync("confirmed@example.com", 1))[0]);
        using (var confirmed = await browser.SubmitAsync($"/verify/{link}", $"/verify/{link}", ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Redirect, confirmed.StatusCode);
        }

        // Six and a half days on, one of the two signs up again: a new link, good for a day, on the same old account.
        time.Advance(TimeSpan.FromDays(6.5));
        Assert.Equal(HttpStatusCode.OK, (await SignUpAsync(browser, "renewed@example.com", Password)).Status);
        await h.MailsToAsync("renewed@example.com", 2);
        var never = (await h.Store.FindAccountByEmailAsync("never@example.com"))!;

        // Past the week (the renewed link works until day 7.5): the clock moves five minutes at a time, so that the
        // sweep's hourly timer comes round whenever its loop re-armed it, and at most five hours pass.
        time.Advance(TimeSpan.FromHours(12) + TimeSpan.FromMinutes(5));
        for (var i = 0; i < 60 && await h.Store.FindAccountByEmailAsync("never@example.com") is not null; i++)
        {
            await Task.Delay(100);
            time.Advance(TimeSpan.FromMinutes(5));
        }

        Assert.Null(await h.Store.FindAccountByEmailAsync("never@example.com"));
        Assert.Equal(AccountState.Active, (await h.Store.FindAccountByEmailAsync("confirmed@example.com"))!.State);
        Assert.Equal(AccountState.Unverified, (await h.Store.FindAccountByEmailAsync("renewed@example.com"))!.State);
        var changes = await h.Store.ListConsumerChangesAsync(null, 100);
        Assert.Contains(changes, c => c is { Action: "delete", Kind: "account", Actor: "portal:expired" } && c.Name == never.Id);
        Assert.DoesNotContain(changes, c => $"{c.Actor} {c.Before} {c.After}".Contains("never@example.com", StringComparison.Ordinal));
    }

    [Fact]
    public async Task SignUp_WaitsForTheMailedLink_WhichWithThePasswordConfirmsAndSignsIn_Once()
    {
        await using var h = await PortalHarness.StartAsync();
        await VerificationOnAsync(h);
        using var browser = h.NewBrowser();
        var (status, text) = await SignUpAsync(browser, "new@example.com", Password);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains("Check your mail", text, StringComparison.Ordinal);

        // Not yet: the same answer as a wrong password.
        using (var early = await browser.SubmitAsync("/login", "/login", ("email", "new@example.com"), ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, early.StatusCode);
            Assert.Contains("The email or password is not right.", await early.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        var token = VerifyToken(Assert.Single(await h.MailsToAsync("new@example.com", 1)));
        Assert.Equal(AccountState.Unverified, (await h.Store.FindAccountByEmailAsync("new@example.com"))!.State);
        Assert.Matches("^[A-Za-z0-9_-]{43}$", token);

        using (var wrong = await browser.SubmitAsync($"/verify/{token}", $"/verify/{token}", ("password", "not the one signed up with")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, wrong.StatusCode);
        }

        using (var confirmed = await browser.SubmitAsync($"/verify/{token}", $"/verify/{token}", ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Redirect, confirmed.StatusCode);
            Assert.Equal("/apps", confirmed.Headers.Location?.OriginalString);
        }

        using (var apps = await browser.GetAsync("/apps"))
        {
            Assert.Equal(HttpStatusCode.OK, apps.StatusCode);
        }

        Assert.Equal(AccountState.Active, (await h.Store.FindAccountByEmailAsync("new@example.com"))!.State);
        using var other = h.NewBrowser();
        using (var again = await other.SubmitAsync($"/verify/{token}", $"/verify/{token}", ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        }

        using var login = await other.SubmitAsync("/login", "/login", ("email", "new@example.com"), ("password", Password));
        Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
    }

    [Fact]
    public async Task SignUp_OverAConfirmedAddress_AnswersTheSame_ChangesNothing_AndMailsTheOwnerANote()
    {
        await using var h = await PortalHarness.StartAsync();
        await h.ConsumerAsync("owner@example.com");
        await VerificationOnAsync(h);

        using var stranger = h.NewBrowser();
        var taken = await SignUpAsync(stranger, "owner@example.com", "the stranger's own pass phrase");
        var fresh = await SignUpAsync(stranger, "nobody@example.com", "the stranger's own pass phrase");
        Assert.Equal(fresh.Status, taken.Status);
        Assert.Equal(Scrub(fresh.Text), Scrub(taken.Text));

        var note = Assert.Single(await h.MailsToAsync("owner@example.com", 1));
        Assert.Contains("already has an account", note.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("/verify/", note.TextBody, StringComparison.Ordinal);
        using var owner = h.NewBrowser();
        using var signedIn = await owner.SubmitAsync("/login", "/login", ("email", "owner@example.com"), ("password", Password));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        using var strangerIn = await owner.SubmitAsync("/login", "/login", ("email", "owner@example.com"), ("password", "the stranger's own pass phrase"));
        Assert.Equal(HttpStatusCode.Unauthorized, strangerIn.StatusCode);
    }

    [Fact]
    public async Task ASquattersSignUp_OverTheOwners_IsNeverConfirmedByTheOwnersClick_AndTheOwnerGetsTheAddress()
    {
        await using var h = await PortalHarness.StartAsync();
        await VerificationOnAsync(h);
        using var owner = h.NewBrowser();
        using var squatter = h.NewBrowser();
        await SignUpAsync(owner, "victim@example.com", Password);
        await SignUpAsync(squatter, "victim@example.com", "the squatter's pass phrase");

        // The owner opens the newest mail (the squatter's sign-up) and gives their own password: nothing is confirmed.
        var mails = await h.MailsToAsync("victim@example.com", 2);
        var latest = VerifyToken(mails[^1]);
        using (var refused = await owner.SubmitAsync($"/verify/{latest}", $"/verify/{latest}", ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        }

        Assert.Equal(AccountState.Unverified, (await h.Store.FindAccountByEmailAsync("victim@example.com"))!.State);

        // Signing up again takes the address back; its link with the owner's password confirms it.
        await SignUpAsync(owner, "victim@example.com", Password);
        var third = VerifyToken((await h.MailsToAsync("victim@example.com", 3))[^1]);
        using (var confirmed = await owner.SubmitAsync($"/verify/{third}", $"/verify/{third}", ("password", Password)))
        {
            Assert.Equal(HttpStatusCode.Redirect, confirmed.StatusCode);
        }

        using var squatterIn = await squatter.SubmitAsync("/login", "/login", ("email", "victim@example.com"), ("password", "the squatter's pass phrase"));
        Assert.Equal(HttpStatusCode.Unauthorized, squatterIn.StatusCode);
        // The squatter's own link, used late, confirms nothing more and signs nobody in.
        var squatters = VerifyToken(mails[^1]);
        using var late = await squatter.SubmitAsync($"/verify/{squatters}", $"/verify/{squatters}", ("password", "the squatter's pass phrase"));
        Assert.Equal(HttpStatusCode.BadRequest, late.StatusCode);
        Assert.Null(late.Headers.Location);
    }

    [Fact]
    public async Task APasswordReset_OfAnUnconfirmedAccount_ConfirmsIt_UnderAccountApprovalToo()
    {
        await using var h = await PortalHarness.StartAsync();
        await VerificationOnAsync(h);
        using (var admin = Admin(h))
        {
            using var set = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"accountApproval":true}""", Encoding.UTF8, "application/json"));
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"accountApproval":true,"emailVerification":true,"twoStepRequired":false,"apiTokens":true,"maxApplicationsPerAccount":50,"keyLifetimeMax":null,"tryItPerMinute":60}"""), JsonNode.Parse(await set.Content.ReadAsStringAsync())));
        }

        using var browser = h.NewBrowser();
        await SignUpAsync(browser, "late@example.com", Password);
        await browser.SubmitAsync("/reset", "/reset", ("email", "late@example.com"));
        var reset = (await h.MailsToAsync("late@example.com", 2)).Single(m => (m.Subject ?? "").Contains("Reset", StringComparison.Ordinal));
        var token = Regex.Match(reset.TextBody ?? "", @"/reset/(\S+)").Groups[1].Value;
        using (var changed = await browser.SubmitAsync($"/reset/{token}", $"/reset/{token}", ("password", "a brand new pass phrase")))
        {
            Assert.Equal(HttpStatusCode.OK, changed.StatusCode);
        }

        Assert.Equal(AccountState.Pending, (await h.Store.FindAccountByEmailAsync("late@example.com"))!.State);
        using var signedIn = await browser.SubmitAsync("/login", "/login", ("email", "late@example.com"), ("password", "a brand new pass phrase"));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
    }

    [Fact]
    public async Task WithoutMail_ASignUpIsRefusedWith503_AndTheLogSaysWhatToGive()
    {
        await using var h = await PortalHarness.StartAsync(portalOptions: o => o with { MailDirectory = null });
        await VerificationOnAsync(h);
        using var browser = h.NewBrowser();
        var (status, text) = await SignUpAsync(browser, "new@example.com", Password);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("cannot send mail", text, StringComparison.Ordinal);
        Assert.Null(await h.Store.FindAccountByEmailAsync("new@example.com"));
        lock (h.Logs)
        {
            Assert.Contains(h.Logs, l => l.Contains("emailVerification is on", StringComparison.Ordinal) && l.Contains("--portal-smtp", StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData("""{"emailVerification":"yes"}""")]
    [InlineData("""{"emailverification":true}""")]
    [InlineData("""{}""")]
    [InlineData("""{"accountApproval":true,"other":false}""")]
    [InlineData("""{"maxApplicationsPerAccount":0}""")]
    [InlineData("""{"maxApplicationsPerAccount":1001}""")]
    [InlineData("""{"maxApplicationsPerAccount":true}""")]
    [InlineData("""{"apiTokens":3}""")]
    [InlineData("""{"keyLifetimeMax":"7d"}""")]
    [InlineData("""{"keyLifetimeMax":90}""")]
    public async Task Settings_RefuseWhatIsNotABooleanSetting_AndChangeNothing(string body)
    {
        await using var h = await PortalHarness.StartAsync();
        using var admin = Admin(h);
        using var put = await admin.PutAsync("/admin/portal/settings", new StringContent(body, Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, put.StatusCode);
        Assert.Equal("application/problem+json", put.Content.Headers.ContentType?.MediaType);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse("""{"accountApproval":false,"emailVerification":false,"twoStepRequired":false,"apiTokens":true,"maxApplicationsPerAccount":50,"keyLifetimeMax":null,"tryItPerMinute":60}"""), JsonNode.Parse(await admin.GetStringAsync("/admin/portal/settings"))));
    }

    // The antiforgery token differs between pages; nothing else may.
    private static string Scrub(string html) => Regex.Replace(html, "value=\"[^\"]*\"", "");

    [GeneratedRegex(@"/verify/([A-Za-z0-9_-]+)")]
    private static partial Regex VerifyLink();
}
