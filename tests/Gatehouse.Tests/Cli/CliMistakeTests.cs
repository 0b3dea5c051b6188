using System.Net;
using System.Net.Sockets;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Ordinary mistakes with the real <c>gatehouse</c> executable (issue 24): a port taken, a file it cannot read, a bad or
/// unreachable store, a certificate that does not load. Each is a plain message and a non-zero exit code: never a stack
/// trace, never a claim that a revision is live.
/// </summary>
[Trait("Issue", "24")]
public sealed class CliMistakeTests : IDisposable
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "gatehouse-mistakes-" + Guid.NewGuid().ToString("N")[..10]);

    public CliMistakeTests() => Directory.CreateDirectory(_folder);

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private string Config(int port, string extra = "")
    {
        var path = Path.Combine(_folder, "gatehouse.yaml");
        File.WriteAllText(path, $$"""
            version: 1
            gateway:
              listeners: [{ url: "{{(extra.Length == 0 ? "http" : "https")}}://127.0.0.1:{{port}}"{{extra}} }]
            services:
              s: { targets: ["http://127.0.0.1:9"] }
            routes:
              r: { path: /r, service: s }
            """);
        return path;
    }

    private static void AssertPlainFailure((int ExitCode, string Stdout, string Stderr) run, string says)
    {
        Assert.NotEqual(0, run.ExitCode);
        Assert.Contains(says, run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stderr + run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", run.Stderr + run.Stdout, StringComparison.Ordinal);
        Assert.DoesNotContain("is live", run.Stdout + run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("listening on", run.Stdout, StringComparison.Ordinal);
        Assert.Single(run.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [Fact]
    public async Task Run_OnAPortThatIsTaken_SaysWhichAddressInOneLine()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var run = await GatehouseProcess.RunAsync("run", "--config", Config(port));

        AssertPlainFailure(run, $"Cannot listen on http://127.0.0.1:{port}: the address is already in use.");
        Assert.StartsWith("gatehouse: ", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_WhenAShopServicesPortIsTaken_SaysWhichInOneLine()
    {
        // The demo's users service listens on 5101 (ShopServices.UsersPort). Something else holding it (this listener, or
        // whatever already did) must give the one line, not the host's logged stack trace before it.
        using var taken = new TcpListener(IPAddress.Loopback, Gatehouse.Examples.Shop.ShopServices.UsersPort);
        try
        {
            taken.Start();
        }
        catch (SocketException)
        {
            // Already taken by something else: the demo meets the same.
        }

        var run = await GatehouseProcess.RunAsync("demo", "--port", "0");

        AssertPlainFailure(run, $"Cannot start the shop's services: Failed to bind to address http://127.0.0.1:5101: address already in use. Is another demo running?");
    }

    [Fact]
    public async Task RunStore_WhenTheAdminPortIsTaken_DoesNotClaimTheRevisionLive()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var run = await GatehouseProcess.RunAsync(
            "run", "--store", Path.Combine(_folder, "gatehouse.db"), "--port", "0", "--admin-url", $"http://127.0.0.1:{port}");

        AssertPlainFailure(run, $"Cannot listen on http://127.0.0.1:{port}");
    }

    [Theory]
    [InlineData("caFile", "holds no PEM certificate; write the CA certificates client certificates must chain to.")]
    [InlineData("crlFile", "holds no certificate revocation list; write the CRLs of the client CAs (PEM or DER).")]
    public async Task Run_WithAClientCaOrRevocationListFileThatDoesNotLoad_SaysWhichFileAndWhatToWrite(string wrong, string says)
    {
        using var key = System.Security.Cryptography.ECDsa.Create();
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=localhost", key, System.Security.Cryptography.HashAlgorithmName.SHA256);
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(30));
        var cert = Path.Combine(_folder, "cert.pem");
        var keyFile = Path.Combine(_folder, "key.pem");
        var bad = Path.Combine(_folder, "bad.pem");
        await File.WriteAllTextAsync(cert, certificate.ExportCertificatePem());
        await File.WriteAllTextAsync(keyFile, key.ExportPkcs8PrivateKeyPem());
        await File.WriteAllTextAsync(bad, "neither a certificate nor a list\n");
        var files = wrong == "caFile" ? $"caFile: \"{bad}\"" : $"caFile: \"{cert}\", crlFile: \"{bad}\"";

        var run = await GatehouseProcess.RunAsync("run", "--config", Config(0, $", certificate: {{ certFile: \"{cert}\", keyFile: \"{keyFile}\" }}, clientCertificates: {{ {files} }}"));

        AssertPlainFailure(run, $"'{bad}' {says}");
    }

    [Fact]
    public async Task Run_WithACertificateThatIsNotPem_SaysWhichSettingToCheck()
    {
        var cert = Path.Combine(_folder, "cert.pem");
        var key = Path.Combine(_folder, "key.pem");
        await File.WriteAllTextAsync(cert, "not a certificate");
        await File.WriteAllTextAsync(key, "not a key");

        var run = await GatehouseProcess.RunAsync("run", "--config", Config(0, $", certificate: {{ certFile: \"{cert}\", keyFile: \"{key}\" }}"));

        AssertPlainFailure(run, "Cannot load a certificate or its key");
    }

    [Fact]
    public async Task Run_WithAStoreThatIsDown_SaysSoInOneLine()
    {
        // A port nothing listens on: PostgreSQL "down".
        int port;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        var run = await GatehouseProcess.RunAsync("run", "--store", $"postgres://gatehouse@127.0.0.1:{port}/gatehouse", "--port", "0", "--admin-url", "http://127.0.0.1:0");

        AssertPlainFailure(run, $"Cannot open the PostgreSQL store at 127.0.0.1:{port}");
    }

    [Theory]
    [InlineData("Host=;Nonsense=1", "not a valid PostgreSQL connection string")]
    [InlineData("/no/such/folder/gatehouse.db", "does not exist; create it or choose another path")]
    [InlineData("sqlite::memory:", "is not a SQLite file path")]
    public async Task Run_WithABadStoreAddress_SaysWhatToWrite(string store, string says)
    {
        var run = await GatehouseProcess.RunAsync("run", "--store", store, "--port", "0");
        AssertPlainFailure(run, says);
    }

    [Fact]
    public async Task RunStore_ImportingAFileThatIsNotThere_SaysWhichFile()
    {
        var missing = Path.Combine(_folder, "nope.yaml");
        var run = await GatehouseProcess.RunAsync("run", "--store", Path.Combine(_folder, "gatehouse.db"), "--config", missing, "--port", "0", "--admin-url", "http://127.0.0.1:0");
        AssertPlainFailure(run, missing);
    }

    [Fact]
    public async Task RunAndValidate_OfAFolderInsteadOfAFile_SayTheyCannotReadIt()
    {
        var run = await GatehouseProcess.RunAsync("run", "--config", _folder);
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("cannot read", run.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", run.Stderr, StringComparison.Ordinal);

        var validate = await GatehouseProcess.RunAsync("validate", _folder);
        Assert.Equal(1, validate.ExitCode);
        Assert.Contains("cannot read", validate.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", validate.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Export_IntoAFolderThatDoesNotExist_SaysSoInOneLine()
    {
        var run = await GatehouseProcess.RunAsync(
            new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = "gha_x" },
            "export", "--admin-url", "http://127.0.0.1:9", "-o", Path.Combine(_folder, "no", "such", "shop.yaml"));
        // Nothing listens on port 9: the admin API is not reached, which is said before any file is written.
        AssertPlainFailure(run, "Cannot reach the admin API");
    }

    [Fact]
    public async Task RunStore_WithAPasswordInTheSmtpUrl_SaysWhereItBelongs()
    {
        var run = await GatehouseProcess.RunAsync(
            "run", "--store", Path.Combine(_folder, "gatehouse.db"), "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0",
            "--portal-smtp", "smtp://portal:hunter2-secret@mail.example.com", "--portal-mail-from", "noreply@example.com");
        AssertPlainFailure(run, "put the password in the environment variable GATEHOUSE_PORTAL_SMTP_PASSWORD");
        Assert.DoesNotContain("hunter2-secret", run.Stderr, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunStore_WithMailOnAPublicListener_AndNoPublicUrl_SaysWhyItIsNeeded()
    {
        var run = await GatehouseProcess.RunAsync(
            "run", "--store", Path.Combine(_folder, "gatehouse.db"), "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://0.0.0.0:0",
            "--portal-mail-dir", Path.Combine(_folder, "mail"));
        AssertPlainFailure(run, "needs --portal-public-url");
    }

    [Fact]
    public async Task RunStore_WithAConsolePublicUrlThatIsNoOrigin_SaysWhatItShouldBe()
    {
        var run = await GatehouseProcess.RunAsync(
            "run", "--store", Path.Combine(_folder, "gatehouse.db"), "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0",
            "--console-public-url", "https://admin.example.com/console");
        AssertPlainFailure(run, "--console-public-url 'https://admin.example.com/console' is not an origin such as https://admin.example.com");
    }

    [Theory]
    [InlineData("--console-oidc-issuer", "http://login.example.com", "--console-oidc-client-id", "console", "is plain http to another machine")]
    [InlineData("--console-oidc-issuer", "https://login.example.com", "--console-oidc-name", "Staff", "needs --console-oidc-client-id")]
    [InlineData("--console-oidc-client-id", "console", "--console-oidc-name", "Staff", "needs --console-oidc-issuer too")]
    [InlineData("--portal-oidc-issuer", "http://login.example.com", "--portal-oidc-client-id", "portal", "--portal-oidc-issuer 'http://login.example.com' is plain http to another machine")]
    [InlineData("--portal-oidc-trust-email", "true", "--portal-oidc-name", "Example ID", "needs --portal-oidc-issuer too")]
    [InlineData("--console-oidc-end-session", "true", "--console-oidc-name", "Staff", "--console-oidc-end-session are for single sign-on, which needs --console-oidc-issuer too")]
    public async Task RunStore_WithSingleSignOnThatCannotWork_SaysWhyInOneLine(string option1, string value1, string option2, string value2, string says)
    {
        var run = await GatehouseProcess.RunAsync(
            "run", "--store", Path.Combine(_folder, "gatehouse.db"), "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0",
            option1, value1, option2, value2);
        AssertPlainFailure(run, says);
    }
}
