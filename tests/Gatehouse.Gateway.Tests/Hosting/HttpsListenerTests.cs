using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>
/// HTTPS listeners load their certificate from PEM files, send the intermediates in them, negotiate HTTP/2 with ALPN, and
/// serve a renewed certificate to new connections without a restart.
/// </summary>
public sealed class HttpsListenerTests
{
    [Theory]
    [InlineData("2.0")]
    [InlineData("1.1")]
    public async Task HttpsListenerFromPem_ServesNegotiatedVersion(string version)
    {
        using var pki = new TestPki();
        var certificate = pki.IssueServer("localhost");
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(certificate, backend.Url, clientCa: null));
        using var client = gateway.CreateClient(Version.Parse(version), certificate.CreateTrustingHandler());

        using var response = await client.GetAsync("/secure?x=1");
        var echo = await response.Content.ReadFromJsonAsync<EchoResponse>();

        Assert.StartsWith("https://127.0.0.1:", gateway.Url, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
        Assert.Equal("/secure?x=1", echo!.RawTarget);
        Assert.Equal("https", echo.Header("X-Forwarded-Proto"));
    }

    /// <summary>
    /// A certificate issued by an intermediate CA, its PEM file holding the leaf and then the intermediate (as certbot's
    /// fullchain.pem does): a client that trusts only the root completes the chain with what the handshake sent. Over a
    /// listener that also asks for client certificates too.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task IntermediatesInTheCertificateFile_AreSentInTheHandshake(bool askForClientCertificates)
    {
        using var root = new TestPki("Gatehouse Test Root");
        using var intermediate = root.CreateIntermediate("Gatehouse Test Issuing CA");
        var certificate = intermediate.IssueServer("localhost");
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(certificate, backend.Url, askForClientCertificates ? root.CaFile : null));

        var verdicts = new List<bool>();
        var handler = new SocketsHttpHandler { UseProxy = false };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, chain, _) =>
        {
            // Built from the root alone plus what the server sent (the chain's extra store), not from any local store.
            lock (verdicts)
            {
                verdicts.Add(cert is X509Certificate2 leaf && root.Issued(leaf, chain));
            }

            return true;
        };
        using var client = gateway.CreateClient(HttpVersion.Version11, handler);
        using var response = await client.GetAsync("/x");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal([true], verdicts);
    }

    /// <summary>
    /// The certificate files are renewed in place: new connections get the new certificate (within the check interval,
    /// 100 ms here), without a restart, and the connection opened before keeps working. A renewal that does not load (a key
    /// that is not the certificate's) leaves the served one, with a warning, until a pair that loads is written.
    /// </summary>
    [Fact]
    public async Task ARenewedCertificate_IsServedToNewConnections_WithoutARestart_AndAPairThatDoesNotLoadKeepsTheOne_Served()
    {
        using var pki = new TestPki();
        var first = pki.IssueServer("localhost");
        var second = pki.IssueServer("localhost");
        var third = pki.IssueServer("localhost");
        await using var backend = await TestBackend.StartEchoAsync();
        var logs = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Parse(Yaml(first, backend.Url, null, OwnUrl)), logs: logs, minimumLogLevel: LogLevel.Information,
            options: o => o with { CertificateCheckInterval = TimeSpan.FromMilliseconds(100), MetricsOnAdmin = true });
        Assert.Matches(ExpiryLine(first), gateway.Host.Metrics!.Scrape());

        using var before = Connection(gateway, out var beforeServed);
        Assert.Equal(HttpStatusCode.OK, (await before.GetAsync("/a")).StatusCode);
        Assert.Equal(Thumbprint(first), beforeServed.Single());

        // Renewed in place, as certbot and cert-manager do.
        await RenewAsync(first, second.CertFile, second.KeyFile);
        Assert.Equal(Thumbprint(second), await ServedToANewConnectionAsync(gateway, Thumbprint(second)));
        Assert.Equal(HttpStatusCode.OK, (await before.GetAsync("/b")).StatusCode); // the older connection goes on
        await logs.WaitForAsync(e => e.Message.Contains("now serving CN=localhost", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.Matches(ExpiryLine(second), gateway.Host.Metrics!.Scrape());

        // A pair that does not match: the second certificate stays, and the log says why.
        await RenewAsync(first, third.CertFile, second.KeyFile);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!logs.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("do not load", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no warning about the renewal that does not load");
            Assert.Equal(Thumbprint(second), await ServedToANewConnectionAsync(gateway, null)); // a new connection looks at the files
            await Task.Delay(50);
        }

        Assert.Equal(Thumbprint(second), await ServedToANewConnectionAsync(gateway, null));

        // The key follows: the third is served.
        await RenewAsync(first, third.CertFile, third.KeyFile);
        Assert.Equal(Thumbprint(third), await ServedToANewConnectionAsync(gateway, Thumbprint(third)));
    }

    /// <summary>
    /// A listener's certificate with less than 14 days left is warned about when it is loaded: once (new connections look
    /// at its unchanged files again and say nothing more), naming the listener, the certificate's notAfter in UTC and the
    /// days left. One with more days left is not warned about. Either way the expiry gauge gives its notAfter (Unix time).
    /// </summary>
    [Theory]
    [InlineData(5, true)]
    [InlineData(13, true)]
    [InlineData(15, false)]
    [InlineData(60, false)]
    public async Task ACertificateWithLessThan14DaysLeft_IsWarnedAboutOnce_WithListenerAndDate_OneWithMoreIsNot(int daysLeft, bool warned)
    {
        using var pki = new TestPki();
        var certificate = pki.IssueServer("localhost", TimeSpan.FromDays(daysLeft));
        await using var backend = await TestBackend.StartEchoAsync();
        var logs = new CapturingLoggerProvider();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var gateway = await TestGateway.StartAsync(TestGateway.Parse(Yaml(certificate, backend.Url, null, OwnUrl)), time: time, logs: logs,
            options: o => o with { CertificateCheckInterval = TimeSpan.FromSeconds(1), MetricsOnAdmin = true });

        // Two more looks at the files, each by a new connection after the check interval.
        for (var look = 0; look < 2; look++)
        {
            time.Advance(TimeSpan.FromSeconds(2));
            using var client = gateway.CreateClient(HttpVersion.Version11, certificate.CreateTrustingHandler());
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/n")).StatusCode);
        }

        var expiring = logs.Entries.Where(e => e.Message.Contains("expires at", StringComparison.Ordinal)).ToList();
        if (warned)
        {
            var warning = Assert.Single(expiring);
            Assert.Equal(LogLevel.Warning, warning.Level);
            Assert.Equal("Gatehouse.Listeners", warning.Category);
            var notAfter = certificate.Certificate.NotAfter.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture);
            Assert.Equal(
                $"Listener {OwnUrl}: the certificate CN=localhost expires at {notAfter}, in {daysLeft} days; renew its files (they are read again when they change)",
                warning.Message);
        }
        else
        {
            Assert.Empty(expiring);
        }

        var scrape = gateway.Host.Metrics!.Scrape();
        Assert.Matches(ExpiryLine(certificate), scrape);
    }

    // The expiry gauge reports every listener certificate of the process, and other test classes run https listeners
    // on 127.0.0.1:0 at the same time: the renewal test's listener has a name of its own (localhost:0 binds 127.0.0.1).
    private const string OwnUrl = "https://localhost:0";

    private static string Yaml(IssuedCertificate certificate, string backend, string? clientCa, string url = "https://127.0.0.1:0") => $$"""
        version: 1
        gateway:
          listeners:
            - url: {{url}}
              certificate:
                certFile: {{certificate.CertFile}}
                keyFile: {{certificate.KeyFile}}
              {{(clientCa is null ? "" : $"clientCertificates: {{ caFile: {clientCa} }}")}}
        services:
          backend:
            targets: [{{backend}}]
        routes:
          all:
            path: /{**rest}
            service: backend
        """;

    // The expiry gauge's line for the listener, at the certificate's notAfter (Unix seconds).
    private static string ExpiryLine(IssuedCertificate certificate) =>
        $@"gatehouse_listener_certificate_expiry_seconds\{{[^}}]*listener=""https://localhost:0""[^}}]*\}} {new DateTimeOffset(certificate.Certificate.NotAfter.ToUniversalTime()).ToUnixTimeSeconds()}\b";

    private static string Thumbprint(IssuedCertificate certificate) => certificate.Certificate.GetCertHashString(HashAlgorithmName.SHA256);

    // Writes the PEM files of a renewal over the first certificate's, each whole (a temporary file renamed over it).
    private static async Task RenewAsync(IssuedCertificate over, string certFile, string keyFile)
    {
        foreach (var (from, to) in new[] { (certFile, over.CertFile), (keyFile, over.KeyFile) })
        {
            var temp = to + ".new";
            await File.WriteAllTextAsync(temp, await File.ReadAllTextAsync(from));
            File.Move(temp, to, overwrite: true);
        }
    }

    // A client whose every connection records the certificate it was served (and accepts any).
    private static HttpClient Connection(TestGateway gateway, out List<string> served)
    {
        var seen = new List<string>();
        served = seen;
        var handler = new SocketsHttpHandler { UseProxy = false };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
        {
            lock (seen)
            {
                seen.Add(cert!.GetCertHashString(HashAlgorithmName.SHA256));
            }

            return true;
        };
        return gateway.CreateClient(HttpVersion.Version11, handler);
    }

    // The certificate a new connection is served; with `until`, new connections are made until it is that one (bounded).
    private static async Task<string> ServedToANewConnectionAsync(TestGateway gateway, string? until)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (true)
        {
            using var client = Connection(gateway, out var served);
            using var response = await client.GetAsync("/n");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var thumbprint = served.Single();
            if (until is null || thumbprint == until || DateTime.UtcNow > deadline)
            {
                return thumbprint;
            }

            await Task.Delay(50);
        }
    }
}
