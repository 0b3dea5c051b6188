using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Tests.Support;
using SmtpServer.Protocol;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: the portal's mail. Links in mails come from the portal's public address, never from the asker's Host
/// header; mail goes out through a real SMTP server (STARTTLS, login, a private CA), with retries for what may pass
/// later and a clear log line for what will not.
/// </summary>
[Trait("Issue", "18")]
public sealed partial class PortalMailTests
{
    private const string Password = "a long enough pass phrase";

    private static readonly TimeSpan[] QuickRetries = [TimeSpan.FromMilliseconds(20), TimeSpan.FromMilliseconds(40)];

    [Fact]
    public async Task ResetLink_IsBuiltFromTheListener_NotFromTheHostHeaderTheAskerSent()
    {
        await using var h = await PortalHarness.StartAsync();
        await h.ConsumerAsync("owner@example.com");
        using var attacker = h.NewBrowser();
        var token = Browser.TokenOf(await attacker.PageAsync("/reset"));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/reset")
        {
            Content = new FormUrlEncodedContent([new("email", "owner@example.com"), new("__RequestVerificationToken", token)]),
        };
        request.Headers.Host = "attacker.example";
        request.Headers.Add("X-Forwarded-Host", "attacker.example");
        using var asked = await attacker.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, asked.StatusCode);

        await Wait.UntilAsync(() => Directory.GetFiles(h.MailDirectory, "*.eml").Length == 1, "the reset mail");
        var mail = await File.ReadAllTextAsync(Directory.GetFiles(h.MailDirectory, "*.eml").Single());
        Assert.DoesNotContain("attacker.example", mail, StringComparison.Ordinal);
        Assert.Matches($"{Regex.Escape(h.Portal.Url.TrimEnd('/'))}/reset/[A-Za-z0-9_-]{{43}}", mail);
    }

    [Fact]
    public async Task ResetLink_StartsWithThePublicUrl_WhenOneIsGiven()
    {
        await using var h = await PortalHarness.StartAsync(portalOptions: o => o with { PublicUrl = "https://portal.example.com/" });
        await h.ConsumerAsync("owner@example.com");
        using var browser = h.NewBrowser();
        await browser.SubmitAsync("/reset", "/reset", ("email", "owner@example.com"));

        await Wait.UntilAsync(() => Directory.GetFiles(h.MailDirectory, "*.eml").Length == 1, "the reset mail");
        var mail = await File.ReadAllTextAsync(Directory.GetFiles(h.MailDirectory, "*.eml").Single());
        Assert.Matches("https://portal\\.example\\.com/reset/[A-Za-z0-9_-]{43}", mail);
        Assert.DoesNotContain("127.0.0.1", mail, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://portal.example.com/portal")]
    [InlineData("https://portal.example.com/?a=b")]
    [InlineData("ftp://portal.example.com")]
    [InlineData("portal.example.com")]
    public void PublicUrl_ThatIsNotAnOrigin_IsRefusedWithTheFormItWants(string url)
    {
        var e = Assert.Throws<ArgumentException>(() => PortalHost.ParsePublicUrl(url));
        Assert.Contains("https://portal.example.com", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Smtp_DeliversTheResetMail_OverStartTls_AfterLogin_AndTheLinkWorks()
    {
        using var pki = new TestPki();
        var certificate = pki.IssueServer("localhost");
        await using var smtp = TestSmtpServer.Start(certificate.Certificate, "portal", "mail pass 1");
        await using var h = await SmtpPortalAsync($"smtp://portal@localhost:{smtp.Port}", "mail pass 1", pki.CaFile, "API portal <noreply@example.com>");
        await h.ConsumerAsync("forgetful@example.com");
        using var browser = h.NewBrowser();
        using var asked = await browser.SubmitAsync("/reset", "/reset", ("email", "forgetful@example.com"));
        Assert.Equal(HttpStatusCode.OK, asked.StatusCode);

        await Wait.UntilAsync(() => !smtp.Received.IsEmpty, "the reset mail at the SMTP server");
        var (message, secure, user) = Assert.Single(smtp.Received);
        Assert.True(secure, "the session was upgraded with STARTTLS before the mail was sent");
        Assert.Equal("portal", user);
        Assert.Equal("noreply@example.com", Assert.Single(message.From.Mailboxes).Address);
        Assert.Equal("forgetful@example.com", Assert.Single(message.To.Mailboxes).Address);
        var link = ResetLink().Match(message.TextBody ?? "").Groups[1].Value;
        Assert.NotEmpty(link);
        await Wait.UntilAsync(() => h.Portal.Mail.Sent == 1, "the client to count the mail sent (after the server took it)");

        using var reset = await browser.SubmitAsync($"/reset/{link}", $"/reset/{link}", ("password", "a brand new pass phrase"));
        Assert.Equal(HttpStatusCode.OK, reset.StatusCode);
        using var signedIn = await browser.SubmitPastBusyAsync("/login", "/login", ("email", "forgetful@example.com"), ("password", "a brand new pass phrase"));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
    }

    [Fact]
    public async Task Smtp_OverTlsFromTheFirstByte_Delivers()
    {
        using var pki = new TestPki();
        var certificate = pki.IssueServer("localhost");
        await using var smtp = TestSmtpServer.Start(certificate.Certificate, implicitTls: true);
        await using var h = await SmtpPortalAsync($"smtps://localhost:{smtp.Port}", null, pki.CaFile, "noreply@example.com");
        await h.ConsumerAsync("tls@example.com");
        using var browser = h.NewBrowser();
        await browser.SubmitAsync("/reset", "/reset", ("email", "tls@example.com"));

        await Wait.UntilAsync(() => !smtp.Received.IsEmpty, "the reset mail at the SMTP server");
        Assert.True(Assert.Single(smtp.Received).Secure);
    }

    [Fact]
    public async Task Smtp_ACertificateNotFromTheGivenCa_IsNeverSentTo_AndTheLogSaysWhy()
    {
        using var trusted = new TestPki("Trusted CA");
        using var other = new TestPki("Another CA");
        var certificate = other.IssueServer("localhost");
        await using var smtp = TestSmtpServer.Start(certificate.Certificate, "portal", "mail pass 1");
        await using var h = await SmtpPortalAsync($"smtp://portal@localhost:{smtp.Port}", "mail pass 1", trusted.CaFile, "noreply@example.com", retries: true);
        await h.ConsumerAsync("careful@example.com");
        using var browser = h.NewBrowser();
        using var asked = await browser.SubmitAsync("/reset", "/reset", ("email", "careful@example.com"));
        Assert.Equal(HttpStatusCode.OK, asked.StatusCode);

        await Wait.UntilAsync(() => h.Portal.Mail.Failed == 1, "the mail given up");
        Assert.Equal(0, smtp.Offered);
        Assert.Empty(smtp.Received);
        var logs = Logs(h);
        Assert.Contains(logs, l => l.Contains("certificate is not trusted", StringComparison.Ordinal) && l.Contains("Trying again", StringComparison.Ordinal));
        Assert.Contains(logs, l => l.Contains("given up after 3 attempts", StringComparison.Ordinal) && l.Contains("example.com", StringComparison.Ordinal));
        Assert.DoesNotContain(logs, l => l.Contains("careful@", StringComparison.Ordinal) || l.Contains("/reset/", StringComparison.Ordinal) || l.Contains("mail pass 1", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Smtp_AWrongPassword_IsLoggedAsSuch_AndNothingIsSent()
    {
        // Mails fail only in this class's tests, which run one at a time: the meter's failed count here is this test's.
        var failed = 0L;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Gatehouse.Portal" && instrument.Name == "gatehouse.portal.mails")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag is { Key: "outcome", Value: "failed" })
                {
                    Interlocked.Add(ref failed, value);
                }
            }
        });
        listener.Start();

        using var pki = new TestPki();
        var certificate = pki.IssueServer("localhost");
        await using var smtp = TestSmtpServer.Start(certificate.Certificate, "portal", "the right one");
        await using var h = await SmtpPortalAsync($"smtp://portal@localhost:{smtp.Port}", "a wrong one", pki.CaFile, "noreply@example.com", retries: true);
        await h.ConsumerAsync("who@example.com");
        using var browser = h.NewBrowser();
        await browser.SubmitAsync("/reset", "/reset", ("email", "who@example.com"));

        await Wait.UntilAsync(() => h.Portal.Mail.Failed == 1, "the mail given up");
        Assert.Empty(smtp.Received);
        Assert.Contains(Logs(h), l => l.Contains("refused the user name and password", StringComparison.Ordinal));
        Assert.Equal(1, Interlocked.Read(ref failed));
        Assert.DoesNotContain(Logs(h), l => l.Contains("a wrong one", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Smtp_ATemporaryRefusal_IsRetried_AndAPermanentOne_IsGivenUpWithoutHoldingTheNext()
    {
        using var pki = new TestPki();
        var certificate = pki.IssueServer("localhost");
        await using var smtp = TestSmtpServer.Start(certificate.Certificate);
        // The first offer is refused for now (451); every mail to bounced@ is refused for good (550).
        smtp.Answer = (n, to) =>
            to.Contains("bounced@example.com") ? new SmtpResponse(SmtpReplyCode.MailboxUnavailable, "no such mailbox")
            : n == 1 ? new SmtpResponse(SmtpReplyCode.Aborted, "try again later")
            : null;
        await using var h = await SmtpPortalAsync($"smtp://localhost:{smtp.Port}", null, pki.CaFile, "noreply@example.com", retries: true);
        await h.ConsumerAsync("later@example.com");
        await h.ConsumerAsync("bounced@example.com");
        await h.ConsumerAsync("next@example.com");
        using var browser = h.NewBrowser();
        await browser.SubmitAsync("/reset", "/reset", ("email", "later@example.com"));
        await Wait.UntilAsync(() => smtp.Received.Count == 1, "the first mail, on its second attempt");
        await browser.SubmitAsync("/reset", "/reset", ("email", "bounced@example.com"));
        await browser.SubmitAsync("/reset", "/reset", ("email", "next@example.com"));

        // The client counts a mail sent once the server's answer is back, a moment after the server has kept it.
        await Wait.UntilAsync(() => smtp.Received.Count == 2 && h.Portal.Mail.Failed == 1 && h.Portal.Mail.Sent == 2, "the third mail delivered, the second given up");
        Assert.Equal(["later@example.com", "next@example.com"], smtp.Received.Select(r => Assert.Single(r.Message.To.Mailboxes).Address));
        Assert.Equal(4, smtp.Offered);
        Assert.Contains(Logs(h), l => l.Contains("answered 451", StringComparison.Ordinal) && l.Contains("Trying again", StringComparison.Ordinal));
        Assert.Contains(Logs(h), l => l.Contains("refused by", StringComparison.Ordinal) && l.Contains("(550)", StringComparison.Ordinal));
    }

    [Fact]
    public async Task TwoNodesOnOneStore_SendAnAddressItsHoursMailsInAll_NotEachTheirOwn()
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-mail-");
        try
        {
            var path = Path.Combine(directory.FullName, "gatehouse.db");
            await using var store = await Gatehouse.Management.Stores.ConfigStores.OpenAsync("sqlite:" + path, TimeProvider.System);
            var folderA = Directory.CreateDirectory(Path.Combine(directory.FullName, "a")).FullName;
            var folderB = Directory.CreateDirectory(Path.Combine(directory.FullName, "b")).FullName;
            await using var a = new PortalMail(folderA, perRecipientPerHour: 2, store: store);
            await using var b = new PortalMail(folderB, perRecipientPerHour: 2, store: store);

            a.Send("Flooded@Example.com", "one", "one");
            await Wait.UntilAsync(() => a.Sent == 1, "node A's first mail");
            b.Send("flooded@example.com", "two", "two");
            await Wait.UntilAsync(() => b.Sent == 1, "node B's first mail");
            // Each node has sent the address one mail of its own two: the third, on either, is over the two they share.
            a.Send("flooded@example.com", "three", "three");
            b.Send("other@example.com", "four", "four");
            await Wait.UntilAsync(() => a.Limited == 1 && b.Sent == 2, "A's second mail refused, B's mail to another address sent");

            Assert.Single(Directory.GetFiles(folderA, "*.eml"));
            Assert.Equal(2, Directory.GetFiles(folderB, "*.eml").Length);
            Assert.Equal(0, b.Limited);

            // The store keeps the addresses' hashes only.
            await using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path}");
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "SELECT key FROM login_attempts";
            var keys = new List<string>();
            await using (var reader = await command.ExecuteReaderAsync())
            {
                while (await reader.ReadAsync())
                {
                    keys.Add(reader.GetString(0));
                }
            }

            Assert.Equal(3, keys.Count);
            Assert.All(keys, k => Assert.Matches("^m:[0-9a-f]{64}$", k));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task OneAddress_GetsAtMostItsHoursMails_WhateverIsAsked_AndTheAnswerDoesNotChange()
    {
        await using var h = await PortalHarness.StartAsync(portalOptions: o => o with { MailPerRecipientPerHour = 2 });
        await h.ConsumerAsync("flooded@example.com");
        await h.ConsumerAsync("other@example.com");
        using var browser = h.NewBrowser();
        var answers = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            using var asked = await browser.SubmitAsync("/reset", "/reset", ("email", "Flooded@Example.com"));
            Assert.Equal(HttpStatusCode.OK, asked.StatusCode);
            answers.Add(Regex.Replace(await asked.Content.ReadAsStringAsync(), "value=\"[^\"]*\"", ""));
        }

        await browser.SubmitAsync("/reset", "/reset", ("email", "other@example.com"));
        await Wait.UntilAsync(() => Directory.GetFiles(h.MailDirectory, "*.eml").Length == 3 && h.Portal.Mail.Limited == 2, "two mails to the flooded address, one to the other");
        Assert.Single(answers.Distinct());
        var recipients = Directory.GetFiles(h.MailDirectory, "*.eml").Select(f => Assert.Single(MimeKit.MimeMessage.Load(f).To.Mailboxes).Address).Order().ToList();
        Assert.Equal(["flooded@example.com", "flooded@example.com", "other@example.com"], recipients);
        Assert.Contains(Logs(h), l => l.Contains("recipient at example.com not sent", StringComparison.Ordinal) && l.Contains("its 2 mails of the last hour", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Mail_OnAListenerThatIsNotLoopback_NeedsAPublicUrl()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => PortalHarness.StartAsync(portalOptions: o => o with { Url = "http://0.0.0.0:0" }));
        Assert.Contains("--portal-public-url", e.Message, StringComparison.Ordinal);
        Assert.Contains("Host header", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("smtp://portal:secret@mail.example.com", "secret", "put the password in the environment variable GATEHOUSE_PORTAL_SMTP_PASSWORD")]
    [InlineData("smtp://portal@mail.example.com", null, "GATEHOUSE_PORTAL_SMTP_PASSWORD is not set")]
    [InlineData("smtp://portal@mail.example.com:25?tls=none", "secret", "in plain text")]
    [InlineData("smtps://mail.example.com?tls=none", null, "the only option is ?tls=none, on smtp://")]
    [InlineData("http://mail.example.com", null, "is not smtp://")]
    [InlineData("smtp://mail.example.com/path", null, "is not smtp://")]
    public void SmtpUrl_Mistakes_SayWhatToChange(string url, string? password, string says)
    {
        var e = Assert.Throws<ArgumentException>(() => SmtpSettings.Parse(url, password, null));
        Assert.Contains(says, e.Message, StringComparison.Ordinal);
        if (password is not null)
        {
            Assert.DoesNotContain(password, e.Message.Replace("secret@", "", StringComparison.Ordinal), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void SmtpUrl_Defaults_AndThePasswordIsNeverPrinted()
    {
        var starttls = SmtpSettings.Parse("smtp://me@mail.example.com", "hunter2 hunter2", null);
        Assert.Equal((587, SmtpSecurity.StartTls, "me", "hunter2 hunter2"), (starttls.Port, starttls.Security, starttls.UserName, starttls.Password));
        Assert.DoesNotContain("hunter2", starttls.ToString(), StringComparison.Ordinal);
        Assert.Equal("smtp://me@mail.example.com:587", starttls.ToString());
        var tls = SmtpSettings.Parse("smtps://mail.example.com", "ignored without a user", null);
        Assert.Equal((465, SmtpSecurity.Tls, (string?)null, (string?)null), (tls.Port, tls.Security, tls.UserName, tls.Password));
        var relay = SmtpSettings.Parse("smtp://127.0.0.1:25?tls=none", null, null);
        Assert.Equal((25, SmtpSecurity.None), (relay.Port, relay.Security));
        var local = SmtpSettings.Parse("smtp://me@localhost:2525?tls=none", "pw", null);
        Assert.Equal(SmtpSecurity.None, local.Security);
    }

    [Fact]
    public async Task Smtp_NeedsAFromAddress()
    {
        var e = await Assert.ThrowsAsync<ArgumentException>(() => PortalHarness.StartAsync(portalOptions: o => o with
        {
            MailDirectory = null,
            Smtp = SmtpSettings.Parse("smtp://localhost:2525", null, null),
        }));
        Assert.Contains("--portal-mail-from", e.Message, StringComparison.Ordinal);
    }

    // A portal that sends its mail through the SMTP server at the URL, trusting the CA file's roots.
    private static Task<PortalHarness> SmtpPortalAsync(string url, string? password, string? caFile, string from, bool retries = false) =>
        PortalHarness.StartAsync(portalOptions: o => o with
        {
            MailDirectory = null,
            Smtp = SmtpSettings.Parse(url, password, caFile),
            MailFrom = from,
            MailRetryDelays = retries ? QuickRetries : o.MailRetryDelays,
        });

    private static List<string> Logs(PortalHarness h)
    {
        lock (h.Logs)
        {
            return [.. h.Logs];
        }
    }

    [GeneratedRegex(@"http://\S+/reset/(\S+)")]
    private static partial Regex ResetLink();
}
