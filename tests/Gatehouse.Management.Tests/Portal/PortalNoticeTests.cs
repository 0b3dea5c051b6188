using System.Net;
using System.Text;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// A consumer hears by mail of what an administrator decided for them: their sign-up or application approved or not,
/// their address changed on the administrator's word (told to the old address). Suspensions are not mailed.
/// </summary>
[Trait("Issue", "18")]
public sealed class PortalNoticeTests
{
    [Fact]
    public async Task Approvals_Refusals_AndAnAdministratorsChangeOfAddress_AreMailedToTheConsumer()
    {
        await using var h = await PortalHarness.StartAsync();
        using var admin = h.AdminClient();
        using (var set = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"accountApproval":true}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using var waiting = await h.ConsumerAsync("waiting@example.com");
        using var refused = await h.ConsumerAsync("refused@example.com");
        var account = (await h.Store.FindAccountByEmailAsync("waiting@example.com"))!;
        var other = (await h.Store.FindAccountByEmailAsync("refused@example.com"))!;
        using (var approve = await admin.PostAsync($"/admin/portal/accounts/{account.Id}/approve", null))
        {
            Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        }

        using (var reject = await admin.PostAsync($"/admin/portal/accounts/{other.Id}/reject", null))
        {
            Assert.Equal(HttpStatusCode.OK, reject.StatusCode);
        }

        var approved = Assert.Single(await h.MailsToAsync("waiting@example.com", 1));
        Assert.Equal("Your developer portal account is approved", approved.Subject);
        Assert.Contains("/apps", approved.TextBody, StringComparison.Ordinal);
        Assert.Equal("Your developer portal sign-up was not approved", Assert.Single(await h.MailsToAsync("refused@example.com", 1)).Subject);

        // An application on a plan that needs approval: approved, then another refused; each told with its name and plan.
        using var fresh = h.NewBrowser();
        using (var login = await fresh.SubmitPastBusyAsync("/login", "/login", ("email", "waiting@example.com"), ("password", "a long enough pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        var (first, _) = await PortalHarness.CreateAppAsync(fresh, "wholesale", "Warehouse sync");
        var (second, _) = await PortalHarness.CreateAppAsync(fresh, "wholesale", "Price scraper");
        using (var approve = await admin.PostAsync($"/admin/portal/applications/{first}/approve", null))
        {
            Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        }

        using (var reject = await admin.PostAsync($"/admin/portal/applications/{second}/reject", null))
        {
            Assert.Equal(HttpStatusCode.OK, reject.StatusCode);
        }

        var mails = await h.MailsToAsync("waiting@example.com", 3);
        Assert.Contains(mails, m => m.Subject == "Your application Warehouse sync is approved" && m.TextBody!.Contains("plan wholesale", StringComparison.Ordinal));
        Assert.Contains(mails, m => m.Subject == "Your application Price scraper was not approved");

        // Suspending is not mailed; a change of address by an administrator is told to the old address.
        using (var suspend = await admin.PostAsync($"/admin/portal/applications/{first}/suspend", null))
        {
            Assert.Equal(HttpStatusCode.OK, suspend.StatusCode);
        }

        using (var patch = await admin.PatchAsync($"/admin/portal/accounts/{account.Id}", new StringContent("""{"email":"Moved@Example.com"}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, patch.StatusCode);
        }

        mails = await h.MailsToAsync("waiting@example.com", 4);
        Assert.Equal(4, mails.Count);
        var moved = mails.Single(m => m.Subject == "Your developer portal address was changed");
        Assert.Contains("moved@example.com", moved.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(h.MailDirectory, "*.eml").Select(f => MimeKit.MimeMessage.Load(f)), m => m.To.Mailboxes.Any(b => b.Address == "moved@example.com"));
    }
}
