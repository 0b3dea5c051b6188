using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.Policies;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// Issue 23, mTLS: an https listener with <c>clientCertificates</c> asks for a certificate; one that chains to the
/// listener's CA and is an application's (by thumbprint, or by subject and issuer) is that application. Every other
/// certificate gets the same 401 as any failed credential, and a client without one can still use a key.
/// </summary>
[Trait("Issue", "23")]
public sealed class ClientCertificateTests : IDisposable
{
    private readonly TestPki _pki = new("Gatehouse Clients CA");
    private readonly IssuedCertificate _server;

    public ClientCertificateTests() => _server = _pki.IssueServer("localhost");

    public void Dispose() => _pki.Dispose();

    private string Yaml(string backend, string caFile, string thumbprint) => $$"""
        version: 1
        gateway:
          listeners:
            - url: https://127.0.0.1:0
              certificate: { certFile: {{_server.CertFile}}, keyFile: {{_server.KeyFile}} }
              clientCertificates: { caFile: {{caFile}} }
        services:
          api: { targets: [{{backend}}] }
        routes:
          items: { methods: [GET], path: "/items/{id}", service: api }
        plans:
          retail: { include: [ { route: items } ] }
        accounts: { acme: {} }
        applications:
          erp: { account: acme, plan: retail, certificates: [ { thumbprint: "{{thumbprint}}" } ] }
          billing: { account: acme, plan: retail, certificates: [ { subject: "CN=billing", issuer: "CN=Gatehouse Clients CA" } ] }
          partner: { account: acme, plan: retail, keys: [ { sha256: {{Gatehouse.Model.Access.ApiKeyHash.Sha256Hex("partner-key")}} } ] }
        """;

    /// <summary>A client that trusts the gateway's certificate and presents <paramref name="client"/> (with its intermediates) whatever the server asks.</summary>
    private HttpClient Client(TestGateway gateway, IssuedCertificate? client, string version = "1.1")
    {
        var handler = _server.CreateTrustingHandler();
        if (client is not null)
        {
            handler.SslOptions.ClientCertificateContext = SslStreamCertificateContext.Create(client.Certificate, client.Intermediates, offline: true);
        }

        return gateway.CreateClient(Version.Parse(version), handler);
    }

    private static async Task<(HttpResponseMessage Response, string Body)> GetAsync(HttpClient client, string? key = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/items/1") { Version = client.DefaultRequestVersion, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        var response = await client.SendAsync(request);
        return (response, (await response.Content.ReadAsStringAsync()).Replace(response.Headers.GetValues("X-Request-Id").Single(), "", StringComparison.Ordinal));
    }

    private static string Thumbprint(IssuedCertificate certificate) =>
        string.Join(':', certificate.Certificate.GetCertHashString(HashAlgorithmName.SHA256).Chunk(2).Select(c => new string(c).ToLowerInvariant()));

    [Theory]
    [InlineData("1.1")]
    [InlineData("2.0")]
    public async Task CertificateByThumbprint_IsTheApplication(string version)
    {
        var erp = _pki.IssueClient("erp");
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, _pki.CaFile, Thumbprint(erp)));
        using var client = Client(gateway, erp, version);

        var (response, _) = await GetAsync(client);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
        Assert.Equal("erp", Assert.Single(backend.Seen).Headers["Gatehouse-Application"]);
    }

    [Fact]
    public async Task CertificateBySubjectAndIssuer_IsTheApplication_AlsoThroughAnIntermediateTheClientSends()
    {
        using var intermediate = _pki.CreateIntermediate("Gatehouse Clients CA");
        var direct = _pki.IssueClient("billing");
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, _pki.CaFile, Thumbprint(_pki.IssueClient("erp"))));

        using var first = Client(gateway, direct);
        var (viaRoot, _) = await GetAsync(first);

        // Same issuer name, one level down: the chain is built from the intermediate the client sends.
        using var second = Client(gateway, intermediate.IssueClient("billing"));
        var (viaIntermediate, _) = await GetAsync(second);

        Assert.Equal(HttpStatusCode.OK, viaRoot.StatusCode);
        Assert.Equal(HttpStatusCode.OK, viaIntermediate.StatusCode);
        Assert.All(backend.Seen, s => Assert.Equal("billing", s.Headers["Gatehouse-Application"]));
    }

    [Fact]
    public async Task CertificateOfAnotherCaWithTheSameNames_GetsThe401_ThatTheSameCertificateGetsPastWhenItsCaIsTrusted()
    {
        // A look-alike: another CA with the configured CA's name issues "CN=billing". Names match; the chain does not.
        using var rogue = new TestPki("Gatehouse Clients CA");
        var lookAlike = rogue.IssueClient("billing");
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, _pki.CaFile, Thumbprint(lookAlike)));
        using var client = Client(gateway, lookAlike);
        using var anonymous = Client(gateway, null);

        var (refused, body) = await GetAsync(client);
        var (unknownKey, unknownKeyBody) = await GetAsync(anonymous, "no-such-key");

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Equal(unknownKeyBody, body);
        Assert.Equal(HttpStatusCode.Unauthorized, unknownKey.StatusCode);
        Assert.Equal(0, backend.Count);

        // The control: with the rogue CA as the listener's CA the very same certificate is served, so the 401 above
        // came from the chain, not from a certificate that was never sent.
        await using var trusting = await TestGateway.StartAsync(Yaml(backend.Url, rogue.CaFile, Thumbprint(lookAlike)));
        using var trustingClient = Client(trusting, lookAlike);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(trustingClient)).Response.StatusCode);
    }

    [Fact]
    public async Task TrustedCertificateOfNoApplication_GetsThe401()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, _pki.CaFile, Thumbprint(_pki.IssueClient("erp"))));
        using var client = Client(gateway, _pki.IssueClient("stranger"));

        var (refused, _) = await GetAsync(client);

        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task NoCertificate_AKeyStillWorks_AndNothingAtAllIsThe401()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, _pki.CaFile, Thumbprint(_pki.IssueClient("erp"))));
        using var client = Client(gateway, null);

        var (withKey, _) = await GetAsync(client, "partner-key");
        var (without, _) = await GetAsync(client);

        Assert.Equal(HttpStatusCode.OK, withKey.StatusCode);
        Assert.Equal("partner", Assert.Single(backend.Seen).Headers["Gatehouse-Application"]);
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
    }

    /// <summary>
    /// A CA rotated without a restart: the new CA written beside the old one is trusted by new connections; a file that
    /// holds no certificate keeps the CA read before (with one warning); the old CA taken out stops its certificates.
    /// </summary>
    [Fact]
    public async Task ARotatedCaFile_IsReadAgainByNewConnections_AndOneThatDoesNotLoadKeepsTheCaReadBefore()
    {
        using var next = new TestPki("Gatehouse Clients CA 2");
        var fromNext = next.IssueClient("erp");
        var caFile = Path.Combine(_pki.Directory, "clients-ca.pem");
        File.Copy(_pki.CaFile, caFile);
        await using var backend = await RecordingBackend.StartAsync();
        var logs = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Parse(Yaml(backend.Url, caFile, Thumbprint(fromNext))), logs: logs,
            minimumLogLevel: Microsoft.Extensions.Logging.LogLevel.Information, options: o => o with { CertificateCheckInterval = TimeSpan.FromMilliseconds(100) });
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusOnANewConnectionAsync(gateway, fromNext));

        // The new CA added beside the old one, as a rotation starts.
        await ReplaceAsync(caFile, await File.ReadAllTextAsync(_pki.CaFile) + "\n" + await File.ReadAllTextAsync(next.CaFile));
        await WaitForStatusAsync(gateway, fromNext, HttpStatusCode.OK);
        await logs.WaitForAsync(e => e.Message.Contains("new connections are checked against its 2 certificates", StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        // Half written, or the wrong file: the two CAs stay.
        await ReplaceAsync(caFile, "not a certificate\n");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!logs.Entries.Any(e => e.Level == Microsoft.Extensions.Logging.LogLevel.Warning && e.Message.Contains("does not load", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no warning about the CA file that does not load");
            Assert.Equal(HttpStatusCode.OK, await StatusOnANewConnectionAsync(gateway, fromNext)); // a new connection looks at the file
            await Task.Delay(50);
        }

        Assert.Equal(HttpStatusCode.OK, await StatusOnANewConnectionAsync(gateway, fromNext));

        // The rotation undone: the new CA's certificates are refused again.
        await ReplaceAsync(caFile, await File.ReadAllTextAsync(_pki.CaFile));
        await WaitForStatusAsync(gateway, fromNext, HttpStatusCode.Unauthorized);
    }

    private async Task<HttpStatusCode> StatusOnANewConnectionAsync(TestGateway gateway, IssuedCertificate client)
    {
        using var http = Client(gateway, client);
        return (await GetAsync(http)).Response.StatusCode;
    }

    private async Task WaitForStatusAsync(TestGateway gateway, IssuedCertificate client, HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        HttpStatusCode last;
        while ((last = await StatusOnANewConnectionAsync(gateway, client)) != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"a new connection still gets {(int)last}, not {(int)status}");
            await Task.Delay(50);
        }
    }

    // The whole file at once (a temporary file renamed over it), as a secret mount or an atomic deploy writes it.
    private static async Task ReplaceAsync(string path, string content)
    {
        await File.WriteAllTextAsync(path + ".new", content);
        File.Move(path + ".new", path, overwrite: true);
    }
}
