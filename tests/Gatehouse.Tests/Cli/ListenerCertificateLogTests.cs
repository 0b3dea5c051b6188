using System.Globalization;
using System.Text.RegularExpressions;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>What the process says about its https listener's certificate, in a time zone other than UTC.</summary>
public sealed class ListenerCertificateLogTests : IDisposable
{
    // UTC+9 all year (no daylight saving), so a local time read as UTC is nine hours off.
    private const string TimeZone = "Asia/Tokyo";

    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-listener-log-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    /// <summary>
    /// The expiry warning and the renewal line give the certificate's notAfter in UTC, as the 'Z' they write says, whatever
    /// the machine's time zone: a process in Tokyo said that a certificate expiring at 06:43Z expired at 15:43Z
    /// (<c>X509Certificate2.NotAfter</c> is local time, and the "u" format does not convert it).
    /// </summary>
    [Fact]
    public async Task ExpiryWarningAndRenewal_GiveNotAfterInUtc_InAProcessOutsideUtc()
    {
        // Without the zone's data the process would run in UTC and prove nothing.
        Assert.NotEqual(TimeSpan.Zero, TimeZoneInfo.FindSystemTimeZoneById(TimeZone).BaseUtcOffset);
        using var pki = new TestPki();
        var first = pki.IssueServer("localhost", TimeSpan.FromDays(5));
        var renewed = pki.IssueServer("localhost", TimeSpan.FromDays(6));
        var certFile = Path.Combine(_folder, "tls.crt");
        var keyFile = Path.Combine(_folder, "tls.key");
        File.Copy(first.CertFile, certFile);
        File.Copy(first.KeyFile, keyFile);
        var config = Path.Combine(_folder, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, $$"""
            version: 1
            gateway:
              listeners:
                - url: https://127.0.0.1:0
                  certificate: { certFile: {{certFile}}, keyFile: {{keyFile}} }
            """);

        await using var gatehouse = GatehouseProcess.Start(new Dictionary<string, string> { ["TZ"] = TimeZone },
            ["run", "--config", config, "--admin-url", "http://127.0.0.1:0"]);
        var url = await gatehouse.WaitForOutputAsync(new Regex(@"listening on (https://127\.0\.0\.1:\d+)"), TimeSpan.FromSeconds(60));
        Assert.Contains($"the certificate CN=localhost expires at {Utc(first)}, in 5 days;", gatehouse.StandardOutput, StringComparison.Ordinal);

        // Renewed in place; a new connection looks at the files again once the check interval (10 s) has passed.
        File.Copy(renewed.CertFile, certFile + ".new");
        File.Move(certFile + ".new", certFile, overwrite: true);
        File.Copy(renewed.KeyFile, keyFile + ".new");
        File.Move(keyFile + ".new", keyFile, overwrite: true);
        using var handler = new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.Zero };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, _, _, _) => true;
        using var client = new HttpClient(handler);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (!gatehouse.StandardOutput.Contains("now serving", StringComparison.Ordinal))
        {
            Assert.True(DateTime.UtcNow < deadline, "no renewal line:\n" + gatehouse.StandardOutput);
            using var response = await client.GetAsync(url + "/");
            await Task.Delay(250);
        }

        await gatehouse.WaitForOutputAsync(new Regex("(expires at .*, in 6 days)"), TimeSpan.FromSeconds(10));
        Assert.Contains($"now serving CN=localhost, valid until {Utc(renewed)} ", gatehouse.StandardOutput, StringComparison.Ordinal);
        Assert.Contains($"the certificate CN=localhost expires at {Utc(renewed)}, in 6 days;", gatehouse.StandardOutput, StringComparison.Ordinal);
    }

    private static string Utc(IssuedCertificate certificate) => certificate.Certificate.NotAfter.ToUniversalTime().ToString("u", CultureInfo.InvariantCulture);
}
