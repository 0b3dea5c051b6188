using System.Net;
using System.Text;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>Issue #18: account approval (a portal setting), password reset, and sessions ending with a suspension.</summary>
[Trait("Issue", "18")]
public sealed class PortalAccountTests
{
    private static HttpClient Admin(PortalHarness h) => h.AdminClient();

    [Theory]
    [InlineData("/admin/portal/accounts?state=activ")]
    [InlineData("/admin/portal/accounts?state=1")]
    [InlineData("/admin/portal/applications?state=deleted")]
    public async Task Lists_WithAStateThatIsNotOne_AreA400_NotEveryState(string path)
    {
        await using var h = await PortalHarness.StartAsync();
        await h.ConsumerAsync("listed@example.com");
        using var admin = Admin(h);
        using var response = await admin.GetAsync(path);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("'state' is one of", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var unverified = await admin.GetStringAsync("/admin/portal/accounts?state=unverified");
        Assert.DoesNotContain("listed@example.com", unverified, StringComparison.Ordinal);
        Assert.Contains("listed@example.com", await admin.GetStringAsync("/admin/portal/accounts?state=active"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ANewKey_ExpiresWhenTheConsumerChose_AndAnExpiryNotOffered_IsRefused()
    {
        var time = new Gatehouse.Management.Tests.Support.FakeTime(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));
        await using var h = await PortalHarness.StartAsync(time);
        using var browser = await h.ConsumerAsync("expiring@example.com");

        using (var refused = await browser.SubmitAsync("/apps/new", "/apps/new", ("title", "Odd"), ("description", ""), ("plan", "retail"), ("expires", "7d")))
        {
            Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
            Assert.Contains("Choose when the key expires", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var created = await browser.SubmitAsync("/apps/new", "/apps/new", ("title", "Quarterly"), ("description", ""), ("plan", "retail"), ("expires", "90d")))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var forever = await browser.SubmitAsync("/apps/new", "/apps/new", ("title", "Forever"), ("description", ""), ("plan", "retail"));
        Assert.Equal(HttpStatusCode.Created, forever.StatusCode);

        var account = await h.Store.FindAccountByEmailAsync("expiring@example.com");
        var applications = await h.Store.ListApplicationsAsync(account!.Id, null, null, 10);
        Assert.Equal(new DateTimeOffset(2026, 7, 30, 8, 0, 0, TimeSpan.Zero), Assert.Single(applications.Single(a => a.Title == "Quarterly").Keys).Expires);
        Assert.Null(Assert.Single(applications.Single(a => a.Title == "Forever").Keys).Expires);
        Assert.Equal(2, applications.Count);
        var page = await browser.PageAsync("/apps/" + applications.Single(a => a.Title == "Quarterly").Id);
        Assert.Contains("2026-07-30 08:00 UTC", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnApplicationsPage_ListsWhatHappenedToIt_ByYouOrAnAdministrator_NewestFirst()
    {
        await using var h = await PortalHarness.StartAsync();
        using var browser = await h.ConsumerAsync("watching@example.com");
        var (id, key) = await PortalHarness.CreateAppAsync(browser, "retail", "Watched");
        var prefix = key[..8];
        using (var rotated = await browser.SubmitAsync($"/apps/{id}", $"/apps/{id}/keys/{prefix}/rotate", ("grace", "0s"), ("confirm", "yes")))
        {
            Assert.Equal(HttpStatusCode.Created, rotated.StatusCode);
        }

        using (var admin = Admin(h))
        {
            using var suspended = await admin.PostAsync($"/admin/portal/applications/{id}/suspend", null);
            Assert.Equal(HttpStatusCode.OK, suspended.StatusCode);
        }

        // Another consumer's changes never show here (and they cannot make any to this application).
        using var other = await h.ConsumerAsync("other-watcher@example.com");
        await PortalHarness.CreateAppAsync(other, "retail", "Theirs");

        var page = await browser.PageAsync($"/apps/{id}");
        var rows = System.Text.RegularExpressions.Regex.Matches(page, "<tr><td>\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d</td><td>([^<]+)</td><td>([^<]+)</td></tr>")
            .Select(m => $"{m.Groups[1].Value}: {m.Groups[2].Value}").ToList();
        Assert.Equal(["an administrator: suspend", $"you: rotate key {prefix}", "you: create"], rows);
        Assert.DoesNotContain("admin-api", page, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AccountApproval_NewAccountsWait_ThenCreateAfterApproval()
    {
        await using var h = await PortalHarness.StartAsync();
        using var admin = Admin(h);
        using var set = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"accountApproval":true}""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, set.StatusCode);

        using var browser = await h.ConsumerAsync("waiting@example.com");
        Assert.Contains("waits for an administrator", await browser.PageAsync("/apps"), StringComparison.Ordinal);
        using (var refused = await browser.SubmitAsync("/apps/new", "/apps/new", ("title", "Early"), ("description", ""), ("plan", "retail")))
        {
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        }

        var account = (await h.Store.FindAccountByEmailAsync("waiting@example.com"))!;
        using var approve = await admin.PostAsync($"/admin/portal/accounts/{account.Id}/approve", null);
        Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        using var again = await admin.PostAsync($"/admin/portal/accounts/{account.Id}/approve", null);
        Assert.Equal(HttpStatusCode.Conflict, again.StatusCode);

        // Approval changed the session stamp: sign in again, then create.
        using var fresh = h.NewBrowser();
        await fresh.SubmitAsync("/login", "/login", ("email", "waiting@example.com"), ("password", "a long enough pass phrase"));
        var (_, key) = await PortalHarness.CreateAppAsync(fresh, "retail");
        Assert.Equal(HttpStatusCode.OK, await h.CallGatewayAsync("GET", key));

        // Suspending the account stops its keys at the gateway and ends its sessions.
        using var suspend = await admin.PostAsync($"/admin/portal/accounts/{account.Id}/suspend", null);
        Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, await h.CallGatewayAsync("GET", key));
        using var ended = await fresh.GetAsync("/apps");
        Assert.Equal(HttpStatusCode.Redirect, ended.StatusCode);
    }

    [Fact]
    public async Task PasswordReset_LinkFromTheMail_SetsANewPassword_Once()
    {
        await using var h = await PortalHarness.StartAsync();
        await h.ConsumerAsync("forgetful@example.com");
        using var browser = h.NewBrowser();
        await browser.SubmitAsync("/reset", "/reset", ("email", "forgetful@example.com"));
        await Gatehouse.Gateway.Tests.Infrastructure.Wait.UntilAsync(() => Directory.Exists(h.MailDirectory) && Directory.GetFiles(h.MailDirectory, "*.eml").Length == 1, "the reset mail");
        var mail = await File.ReadAllTextAsync(Directory.GetFiles(h.MailDirectory, "*.eml").Single());
        var link = System.Text.RegularExpressions.Regex.Match(mail, @"http://\S+/reset/(\S+)").Groups[1].Value;
        Assert.NotEmpty(link);

        using var weak = await browser.SubmitAsync($"/reset/{link}", $"/reset/{link}", ("password", "short"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, weak.StatusCode);
        using var reset = await browser.SubmitAsync($"/reset/{link}", $"/reset/{link}", ("password", "a brand new pass phrase"));
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        using var replay = await browser.SubmitAsync($"/reset/{link}", $"/reset/{link}", ("password", "an attacker's pass phrase"));
        Assert.Equal(HttpStatusCode.BadRequest, replay.StatusCode);

        using var old = await browser.SubmitAsync("/login", "/login", ("email", "forgetful@example.com"), ("password", "a long enough pass phrase"));
        Assert.Equal(HttpStatusCode.Unauthorized, old.StatusCode);
        using var signedIn = await browser.SubmitAsync("/login", "/login", ("email", "forgetful@example.com"), ("password", "a brand new pass phrase"));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
    }
}
