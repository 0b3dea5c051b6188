using System.Net;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: a week before an application's key or an API token expires, its account is told by mail, once, with a
/// link to rotate or replace it; another node of the same store does not tell it again; suspended ones are not told.
/// </summary>
[Trait("Issue", "18")]
public sealed class ExpiryRemindersTests
{
    [Fact]
    public async Task KeysAndTokensAboutToExpire_AreToldOnceAWeekAhead_InOneMailPerAccount_ByOneNode()
    {
        var time = new FakeTime(new DateTimeOffset(2026, 5, 1, 8, 0, 0, TimeSpan.Zero));
        await using var h = await PortalHarness.StartAsync(time);
        using var browser = await h.ConsumerAsync("expiring@example.com");
        string Created(HttpResponseMessage response, string html) =>
            response.StatusCode == HttpStatusCode.Created ? PortalHarness.AppLink().Match(html).Groups[1].Value : throw new InvalidOperationException(html);
        async Task<string> AppAsync(string title, string expires)
        {
            using var created = await browser.SubmitAsync("/apps/new", "/apps/new", ("title", title), ("description", ""), ("plan", "retail"), ("expires", expires));
            return Created(created, await created.Content.ReadAsStringAsync());
        }

        var soon = await AppAsync("Monthly <sync>\nApprove me", "30d");
        await AppAsync("Yearly", "365d");
        await AppAsync("Forever", "");
        using (var token = await browser.SubmitAsync("/tokens", "/tokens", ("name", "ci-deploy"), ("scope", "read"), ("expires", "30d")))
        {
            Assert.Equal(HttpStatusCode.Created, token.StatusCode);
        }

        // Another account's expiring key, its application suspended: nothing to tell.
        using var other = await h.ConsumerAsync("suspended@example.com");
        string stopped;
        using (var created = await other.SubmitAsync("/apps/new", "/apps/new", ("title", "Stopped"), ("description", ""), ("plan", "retail"), ("expires", "30d")))
        {
            stopped = Created(created, await created.Content.ReadAsStringAsync());
        }

        using (var admin = h.AdminClient())
        {
            Assert.Equal(HttpStatusCode.OK, (await admin.PostAsync($"/admin/portal/applications/{stopped}/suspend", null)).StatusCode);
        }

        var reminders = h.Portal.Reminders!;
        Assert.Equal(0, await reminders.RunOnceAsync(CancellationToken.None)); // nothing expires within the week yet
        var before = Directory.Exists(h.MailDirectory) ? Directory.GetFiles(h.MailDirectory, "*.eml").Length : 0;

        // 24 days on: the 30-day key and token end on 2026-05-31 08:00, within the week.
        time.Advance(TimeSpan.FromDays(24));
        await reminders.RunOnceAsync(CancellationToken.None);
        var mail = (await h.MailsToAsync("expiring@example.com", 1)).Single(m => (m.Subject ?? "").Contains("expire soon", StringComparison.Ordinal));
        Assert.Equal("2 keys and tokens expire soon at the developer portal", mail.Subject);
        var text = mail.TextBody;
        Assert.Contains("\"Monthly <sync> Approve me\" (plan retail) expires on 2026-05-31 08:00 UTC", text, StringComparison.Ordinal);
        Assert.Contains($"/apps/{soon}", text, StringComparison.Ordinal);
        Assert.Contains("Your API token ci-deploy (ghc_", text, StringComparison.Ordinal);
        Assert.Contains("/tokens", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Yearly", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Forever", text, StringComparison.Ordinal);
        Assert.DoesNotContain("\nApprove me", text, StringComparison.Ordinal);

        // Told once: not again by this node an hour later, nor by another node of the same store.
        time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(0, await reminders.RunOnceAsync(CancellationToken.None));
        var otherFolder = Path.Combine(h.Folder, "other-node-mail");
        await using (var otherMail = new PortalMail(otherFolder, time: time))
        {
            var otherNode = new ExpiryReminders(h.Store, otherMail, new PortalLinks { Base = "http://other" }, time, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            Assert.Equal(0, await otherNode.RunOnceAsync(CancellationToken.None));
        }

        Assert.Empty(Directory.GetFiles(otherFolder, "*.eml"));
        await Gatehouse.Gateway.Tests.Infrastructure.Wait.UntilAsync(() => Directory.GetFiles(h.MailDirectory, "*.eml").Length >= before + 1, "the reminder");
        Assert.Equal(before + 1, Directory.GetFiles(h.MailDirectory, "*.eml").Length);
        Assert.Empty(await h.MailsToAsync("suspended@example.com", 0));

        // The suspended application's expiring key was never claimed (so never told): its claim is still free.
        var stoppedKey = (await h.Store.GetApplicationAsync(stopped))!.Keys.Single();
        Assert.True(await h.Store.ClaimReminderAsync($"expiry:key:{stopped}:{stoppedKey.Prefix}:{stoppedKey.Expires!.Value.UtcTicks}", stoppedKey.Expires.Value, time.GetUtcNow()));
    }
}
