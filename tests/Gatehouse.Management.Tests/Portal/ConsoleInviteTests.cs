using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Console users are invited, not given a password: the invitation's one-time link (answered to the administrator and
/// mailed to the user) is where they choose their own; it expires, works once, and a change to the user voids it.
/// </summary>
[Trait("Issue", "18")]
public sealed class ConsoleInviteTests
{
    [Fact]
    public async Task AnInvitedUser_ChoosesTheirOwnPasswordAtTheLink_Once_AndIsSignedIn()
    {
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time);
        using var admin = h.AdminClient();
        using (var bad = await admin.PostAsync("/admin/users/not-an-address/invite", null))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
            Assert.Equal("application/problem+json", bad.Content.Headers.ContentType?.MediaType);
        }

        using (var badRole = await admin.PostAsync("/admin/users/new@example.com/invite", Json("""{"role":"owner"}""")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, badRole.StatusCode);
        }

        JsonNode answer;
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/admin/users/New@Example.com/invite") { Content = Json("""{"role":"viewer"}""") })
        {
            request.Headers.Host = "evil.example";
            using var invite = await admin.SendAsync(request);
            Assert.Equal(HttpStatusCode.Created, invite.StatusCode);
            answer = JsonNode.Parse(await invite.Content.ReadAsStringAsync())!;
        }

        Assert.Equal(("new@example.com", "viewer", true), ((string)answer["email"]!, (string)answer["role"]!, (bool)answer["created"]!));
        var link = new Uri((string)answer["link"]!);
        Assert.Equal(new Uri(h.Admin.Url).Authority, link.Authority);
        var mail = Assert.Single(await h.MailsToAsync("new@example.com", 1));
        Assert.Equal("You are invited to the Gatehouse console", mail.Subject);
        Assert.Contains(link.ToString(), mail.TextBody, StringComparison.Ordinal);

        // Made with a password no one knows: nothing signs in until the link is used.
        using (var guess = await new Browser(h.Admin.Url).SubmitAsync("/console/login", "/console/login", ("email", "new@example.com"), ("password", "")))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, guess.StatusCode);
        }

        using var browser = new Browser(h.Admin.Url);
        using (var weak = await browser.SubmitAsync(link.PathAndQuery, link.PathAndQuery, ("password", "short")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, weak.StatusCode); // and the link still works
        }

        using (var set = await browser.SubmitAsync(link.PathAndQuery, link.PathAndQuery, ("password", "a pass phrase of my own")))
        {
            Assert.Equal(HttpStatusCode.Redirect, set.StatusCode);
            Assert.Equal("/console/pending", set.Headers.Location?.OriginalString);
        }

        Assert.Contains("Signed in as new@example.com (role viewer)", await browser.PageAsync("/console/account"), StringComparison.Ordinal);
        using (var again = await new Browser(h.Admin.Url).SubmitAsync(link.PathAndQuery, link.PathAndQuery, ("password", "another pass phrase here")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        }

        using (var login = await new Browser(h.Admin.Url).SubmitAsync("/console/login", "/console/login", ("email", "new@example.com"), ("password", "a pass phrase of my own")))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        // A second invitation voids the first; a link expires after seven days.
        var first = await InviteLinkAsync(admin, "second@example.com");
        var second = await InviteLinkAsync(admin, "second@example.com", """{"role":"viewer"}""");
        using (var voided = await new Browser(h.Admin.Url).SubmitAsync(first, first, ("password", "a pass phrase of my own")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, voided.StatusCode);
        }

        time.Advance(TimeSpan.FromDays(7) + TimeSpan.FromMinutes(1));
        using (var expired = await new Browser(h.Admin.Url).SubmitAsync(second, second, ("password", "a pass phrase of my own")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, expired.StatusCode);
        }

        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 20), c => c.Kind == "console-user" && c.Name == "new@example.com" && c.Action == "create");
    }

    [Fact]
    public async Task AnInvitationToAUserWithTwoStep_SetsThePassword_ButSignsNoOneIn()
    {
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time);
        using var admin = h.AdminClient();
        await ConsoleTests.CreateUserAsync(h, "two@example.com", "admin");
        var user = (await h.Store.GetAdminUserAsync("two@example.com"))!;
        Assert.True(await h.Store.SetAdminUserTwoStepAsync("two@example.com", null, "protected-secret", ["r1"], "test"));
        using var invite = await admin.PostAsync("/admin/users/two@example.com/invite", null);
        Assert.Equal(HttpStatusCode.OK, invite.StatusCode);
        var link = new Uri((string)JsonNode.Parse(await invite.Content.ReadAsStringAsync())!["link"]!).PathAndQuery;
        Assert.Equal("admin", (await h.Store.GetAdminUserAsync("two@example.com"))!.Role == Gatehouse.Management.Consumers.AdminRole.Admin ? "admin" : "viewer");
        Assert.Equal(user.PasswordHash, (await h.Store.GetAdminUserAsync("two@example.com"))!.PasswordHash); // kept until the link is used

        using var browser = new Browser(h.Admin.Url);
        using (var set = await browser.SubmitAsync(link, link, ("password", "a fresh console phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, set.StatusCode);
            Assert.StartsWith("/console/login?done=", set.Headers.Location?.OriginalString, StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.Redirect, await ConsoleTests.PendingStatusAsync(browser)); // not signed in
        using var login = await new Browser(h.Admin.Url).SubmitAsync("/console/login", "/console/login", ("email", "two@example.com"), ("password", "a fresh console phrase"));
        Assert.Equal(HttpStatusCode.OK, login.StatusCode); // the password is right: the second step is asked for
        Assert.Matches(new Regex("name=\"ticket\""), await login.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task TheAccessPage_InvitesAConsoleUser_ShowingTheLinkOnce_AndViewersCannot()
    {
        await using var h = await PortalHarness.StartAsync();
        await ConsoleTests.CreateUserAsync(h, "viewer@example.com", "viewer");
        using var token = new Browser(h.Admin.Url);
        using (var login = await token.SubmitAsync("/console/login", "/console/login", ("email", ""), ("password", PortalHarness.AdminToken)))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        using (var bad = await token.SubmitAsync("/console/access", "/console/access/invite", ("email", "nobody"), ("role", "viewer")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, bad.StatusCode);
        }

        string page;
        using (var invited = await token.SubmitAsync("/console/access", "/console/access/invite", ("email", "Helper@Example.com"), ("role", "viewer")))
        {
            Assert.Equal(HttpStatusCode.OK, invited.StatusCode);
            Assert.Equal("no-store", invited.Headers.CacheControl?.ToString());
            page = await invited.Content.ReadAsStringAsync();
        }

        Assert.Contains("Invited helper@example.com", page, StringComparison.Ordinal);
        var link = new Uri(Regex.Match(page, @"http://[^\s<]+/console/welcome/[A-Za-z0-9_-]+").Value).PathAndQuery;
        Assert.Contains(link, (await h.MailsToAsync("helper@example.com", 1)).Single().TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain("/console/welcome/", await token.PageAsync("/console/access"), StringComparison.Ordinal); // shown once
        using var helper = new Browser(h.Admin.Url);
        using (var set = await helper.SubmitAsync(link, link, ("password", "a phrase of their choosing")))
        {
            Assert.Equal(HttpStatusCode.Redirect, set.StatusCode);
        }

        Assert.Contains("Signed in as helper@example.com (role viewer)", await helper.PageAsync("/console/account"), StringComparison.Ordinal);
        Assert.Contains(await h.Store.ListConsumerChangesAsync(null, 10), c => c.Name == "helper@example.com" && c.Action == "create" && c.Actor == "console:admin-token");

        // A viewer sees no form and cannot post one.
        using var viewer = new Browser(h.Admin.Url);
        using (var login = await viewer.SubmitAsync("/console/login", "/console/login", ("email", "viewer@example.com"), ("password", "a console pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        var access = await viewer.PageAsync("/console/access");
        Assert.DoesNotContain("/console/access/invite", access, StringComparison.Ordinal);
        using (var refused = await viewer.PostAsync("/console/access/invite", ("email", "sneaky@example.com"), ("role", "admin"), ("__RequestVerificationToken", Browser.TokenOf(access))))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        Assert.Null(await h.Store.GetAdminUserAsync("sneaky@example.com"));
    }

    [Fact]
    public async Task AConsoleUserWhoForgotTheirPassword_GetsALinkByMail_AndAStrangerGetsTheSameAnswer()
    {
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time);
        await ConsoleTests.CreateUserAsync(h, "forgetful@example.com", "admin");
        using var browser = new Browser(h.Admin.Url);
        Assert.Contains("/console/reset", await browser.PageAsync("/console/login"), StringComparison.Ordinal);
        string known, unknown;
        // Asked for with another site in the Host header: the mailed link still points at this listener (no reset poisoning).
        using (var request = new HttpRequestMessage(HttpMethod.Post, "/console/reset")
        {
            Content = new FormUrlEncodedContent([KeyValuePair.Create("email", "Forgetful@Example.com"), KeyValuePair.Create("__RequestVerificationToken", Browser.TokenOf(await browser.PageAsync("/console/reset")))]),
        })
        {
            request.Headers.Host = "evil.example";
            using var ask = await browser.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, ask.StatusCode);
            known = await ask.Content.ReadAsStringAsync();
        }

        using (var ask = await browser.SubmitAsync("/console/reset", "/console/reset", ("email", "stranger@example.com")))
        {
            Assert.Equal(HttpStatusCode.OK, ask.StatusCode);
            unknown = await ask.Content.ReadAsStringAsync();
        }

        Assert.Equal(Strip(known), Strip(unknown));
        var mail = Assert.Single(await h.MailsToAsync("forgetful@example.com", 1));
        Assert.DoesNotContain("evil.example", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains(h.Admin.Url + "/console/reset/", mail.TextBody, StringComparison.Ordinal);
        var link = new Uri(Regex.Match(mail.TextBody!, @"http://\S+/console/reset/[A-Za-z0-9_-]+").Value).PathAndQuery;
        using (var set = await new Browser(h.Admin.Url).SubmitAsync(link, link, ("password", "a remembered pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, set.StatusCode);
        }

        using (var again = await new Browser(h.Admin.Url).SubmitAsync(link, link, ("password", "yet another pass phrase")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        }

        using (var login = await new Browser(h.Admin.Url).SubmitAsync("/console/login", "/console/login", ("email", "forgetful@example.com"), ("password", "a remembered pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        // A reset link lasts 30 minutes; an invitation's token is not a reset link.
        using (var ask = await browser.SubmitAsync("/console/reset", "/console/reset", ("email", "forgetful@example.com")))
        {
            Assert.Equal(HttpStatusCode.OK, ask.StatusCode);
        }

        var late = new Uri(Regex.Match((await h.MailsToAsync("forgetful@example.com", 2)).Last(m => !m.TextBody!.Contains(link, StringComparison.Ordinal)).TextBody!,
            @"http://\S+/console/reset/[A-Za-z0-9_-]+").Value).PathAndQuery;
        time.Advance(TimeSpan.FromMinutes(31));
        using (var expired = await new Browser(h.Admin.Url).SubmitAsync(late, late, ("password", "a remembered pass phrase two")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, expired.StatusCode);
        }

        using var admin = h.AdminClient();
        var invite = await InviteLinkAsync(admin, "forgetful@example.com");
        var asReset = invite.Replace("/console/welcome/", "/console/reset/", StringComparison.Ordinal);
        using (var wrongKind = await new Browser(h.Admin.Url).SubmitAsync(asReset, asReset, ("password", "a remembered pass phrase three")))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrongKind.StatusCode);
        }

        static string Strip(string html) => Regex.Replace(html, "name=\"__RequestVerificationToken\" value=\"[^\"]+\"", "");
    }

    /// <summary>Behind a proxy the console's links name the address administrators reach it at (--console-public-url).</summary>
    [Fact]
    public async Task WithAConsolePublicUrl_InvitationAndResetLinksUseIt()
    {
        await using var h = await PortalHarness.StartAsync(consolePublicUrl: "https://admin.example.com/");
        using var admin = h.AdminClient();
        using (var invite = await admin.PostAsync("/admin/users/proxied@example.com/invite", null))
        {
            Assert.Equal(HttpStatusCode.Created, invite.StatusCode);
            Assert.StartsWith("https://admin.example.com/console/welcome/", (string)JsonNode.Parse(await invite.Content.ReadAsStringAsync())!["link"]!, StringComparison.Ordinal);
        }

        using var browser = new Browser(h.Admin.Url);
        using (var ask = await browser.SubmitAsync("/console/reset", "/console/reset", ("email", "proxied@example.com")))
        {
            Assert.Equal(HttpStatusCode.OK, ask.StatusCode);
        }

        var reset = (await h.MailsToAsync("proxied@example.com", 2)).Single(m => m.Subject == "Choose a new Gatehouse console password");
        Assert.Contains("https://admin.example.com/console/reset/", reset.TextBody, StringComparison.Ordinal);
    }

    private static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    private static async Task<string> InviteLinkAsync(HttpClient admin, string email, string? body = null)
    {
        using var invite = await admin.PostAsync($"/admin/users/{email}/invite", body is null ? null : Json(body));
        Assert.True(invite.IsSuccessStatusCode, await invite.Content.ReadAsStringAsync());
        return new Uri((string)JsonNode.Parse(await invite.Content.ReadAsStringAsync())!["link"]!).PathAndQuery;
    }
}
