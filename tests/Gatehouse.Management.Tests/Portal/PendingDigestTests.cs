using System.Net;
using System.Text;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// The console's administrators are mailed what waits for their approval: the first at once, the rest of a burst in one
/// mail after ten minutes, each mail with everything still pending (approved ones left out), never to viewers.
/// </summary>
[Trait("Issue", "18")]
public sealed class PendingDigestTests
{
    [Fact]
    public async Task PendingAccountsAndApplications_AreMailedToTheConsolesAdministrators_ABurstInOneMail()
    {
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time);
        using var admin = h.AdminClient();
        await ConsoleTests.CreateUserAsync(h, "ops@example.com", "admin");
        await ConsoleTests.CreateUserAsync(h, "look@example.com", "viewer");
        using (var set = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"accountApproval":true}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using var first = await h.ConsumerAsync("first@example.com");
        var mail = Assert.Single(await h.MailsToAsync("ops@example.com", 1));
        Assert.Equal("An account waits for approval", mail.Subject);
        Assert.Contains("first@example.com", mail.TextBody, StringComparison.Ordinal);
        Assert.Contains(h.Admin.Url + "/console/pending", mail.TextBody, StringComparison.Ordinal);

        // Two more within ten minutes: one mail at the end of them, with all three.
        using var second = await h.ConsumerAsync("second@example.com");
        using var third = await h.ConsumerAsync("third@example.com");
        await Task.Delay(300);
        Assert.Single(await h.MailsToAsync("ops@example.com", 1));
        time.Advance(TimeSpan.FromMinutes(10));
        var digest = Assert.Single(await h.MailsToAsync("ops@example.com", 2), m => m.Subject == "Accounts wait for approval");
        Assert.Contains("3 accounts:", digest.TextBody, StringComparison.Ordinal);
        Assert.All(["first@example.com", "second@example.com", "third@example.com"], email => Assert.Contains(email, digest.TextBody, StringComparison.Ordinal));

        // Approved accounts are not told again; an application on a plan that needs approval is.
        foreach (var email in (string[])["first@example.com", "second@example.com", "third@example.com"])
        {
            var account = (await h.Store.FindAccountByEmailAsync(email))!;
            using var approve = await admin.PostAsync($"/admin/portal/accounts/{account.Id}/approve", null);
            Assert.Equal(HttpStatusCode.OK, approve.StatusCode);
        }

        using var fresh = h.NewBrowser();
        using (var login = await fresh.SubmitPastBusyAsync("/login", "/login", ("email", "first@example.com"), ("password", "a long enough pass phrase")))
        {
            Assert.Equal(HttpStatusCode.Redirect, login.StatusCode);
        }

        // A title with a line break of its own does not make a line of the mail (a consumer's words must not pass for the portal's).
        await PortalHarness.CreateAppAsync(fresh, "wholesale", "Warehouse sync\nApprove them at http://evil.example/console/pending");
        time.Advance(TimeSpan.FromMinutes(10));
        var application = Assert.Single(await h.MailsToAsync("ops@example.com", 3), m => m.Subject == "An application waits for approval");
        Assert.Contains("\"Warehouse sync Approve them at http://evil.example/console/pending\" on the plan wholesale", application.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain(application.TextBody!.Split('\n'), line => line.StartsWith("Approve them at http://evil", StringComparison.Ordinal));
        Assert.DoesNotContain("second@example.com", application.TextBody, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(h.MailDirectory, "*.eml").Select(f => MimeKit.MimeMessage.Load(f)), m => m.To.Mailboxes.Any(b => b.Address == "look@example.com"));
    }
}
