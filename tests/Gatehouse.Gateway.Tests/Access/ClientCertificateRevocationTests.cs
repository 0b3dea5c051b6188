using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.Policies;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Access;

/// <summary>
/// mTLS with <c>clientCertificates.crlFile</c>: a certificate its CA's revocation list revokes authenticates nobody; a list
/// is believed only with its CA's signature; every CA of a chain needs a current list (fail closed); the file is read again
/// when it changes. The lists are made with .NET's own CRL builder, so the gateway's reading of them is checked against
/// another implementation than its own.
/// </summary>
[Trait("Issue", "23")]
public sealed class ClientCertificateRevocationTests : IDisposable
{
    private readonly TestPki _pki = new("Gatehouse Clients CA");
    private readonly IssuedCertificate _server;

    public ClientCertificateRevocationTests() => _server = _pki.IssueServer("localhost");

    public void Dispose() => _pki.Dispose();

    private string Yaml(string backend, string crlFile, string erpThumbprint) => $$"""
        version: 1
        gateway:
          listeners:
            - url: https://127.0.0.1:0
              certificate: { certFile: {{_server.CertFile}}, keyFile: {{_server.KeyFile}} }
              clientCertificates: { caFile: {{_pki.CaFile}}, crlFile: {{crlFile}} }
        services:
          api: { targets: [{{backend}}] }
        routes:
          items: { methods: [GET], path: "/items/{id}", service: api }
        plans:
          retail: { include: [ { route: items } ] }
        accounts: { acme: {} }
        applications:
          erp: { account: acme, plan: retail, certificates: [ { thumbprint: "{{erpThumbprint}}" } ] }
          billing: { account: acme, plan: retail, certificates: [ { subject: "CN=billing", issuer: "CN=Gatehouse Clients CA" } ] }
          partner: { account: acme, plan: retail, keys: [ { sha256: {{Gatehouse.Model.Access.ApiKeyHash.Sha256Hex("partner-key")}} } ] }
        """;

    private static string Thumbprint(IssuedCertificate certificate) =>
        string.Join(':', certificate.Certificate.GetCertHashString(HashAlgorithmName.SHA256).Chunk(2).Select(c => new string(c).ToLowerInvariant()));

    private string CrlFile(string content)
    {
        var path = Path.Combine(_pki.Directory, $"crl-{Guid.NewGuid():N}.pem");
        File.WriteAllText(path, content);
        return path;
    }

    private async Task<HttpStatusCode> StatusAsync(TestGateway gateway, IssuedCertificate client, string? key = null)
    {
        var handler = _server.CreateTrustingHandler();
        handler.SslOptions.ClientCertificateContext = SslStreamCertificateContext.Create(client.Certificate, client.Intermediates, offline: true);
        using var http = gateway.CreateClient(HttpVersion.Version11, handler);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/items/1");
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task ARevokedCertificate_AuthenticatesNobody_WhileItsSiblingAndAKeyStillDo()
    {
        var erp = _pki.IssueClient("erp");
        var billing = _pki.IssueClient("billing");
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, CrlFile(_pki.CrlPem([erp.Certificate])), Thumbprint(erp)));

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(gateway, erp));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(gateway, billing));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(gateway, erp, key: "partner-key")); // another credential on that connection
        Assert.Equal(["billing", "partner"], backend.Seen.Select(s => s.Headers["Gatehouse-Application"]));

        // The control: the same certificate, with a list that does not revoke it.
        await using var other = await TestGateway.StartAsync(Yaml(backend.Url, CrlFile(_pki.CrlPem([billing.Certificate])), Thumbprint(erp)));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(other, erp));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(other, billing));
    }

    /// <summary>
    /// Through an intermediate the client sends (named as the root is, so only signatures tell their lists apart): its own
    /// list is needed too, read when the file changes; the root's list revoking the intermediate stops its certificates.
    /// </summary>
    [Fact]
    public async Task ThroughAnIntermediate_EachCaOfTheChainNeedsItsList_AndTheRootsListCanRevokeTheIntermediate()
    {
        using var intermediate = _pki.CreateIntermediate("Gatehouse Clients CA");
        var direct = _pki.IssueClient("billing");
        var viaIntermediate = intermediate.IssueClient("billing");
        var crlFile = CrlFile(_pki.CrlPem([]));
        await using var backend = await RecordingBackend.StartAsync();
        var logs = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Parse(Yaml(backend.Url, crlFile, Thumbprint(_pki.IssueClient("erp")))), logs: logs,
            minimumLogLevel: LogLevel.Information, options: o => o with { CertificateCheckInterval = TimeSpan.FromMilliseconds(100) });

        Assert.Equal(HttpStatusCode.OK, await StatusAsync(gateway, direct));
        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(gateway, viaIntermediate));
        await logs.WaitForAsync(e => e.Level == LogLevel.Warning && e.Message.Contains("no CRL of CN=Gatehouse Clients CA", StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        await ReplaceAsync(crlFile, _pki.CrlPem([]) + intermediate.CrlPem([]));
        await WaitForStatusAsync(gateway, viaIntermediate, HttpStatusCode.OK);
        await logs.WaitForAsync(e => e.Message.Contains("checked against its 2 revocation lists", StringComparison.Ordinal), TimeSpan.FromSeconds(10));

        await ReplaceAsync(crlFile, _pki.CrlPem([intermediate.Ca]) + intermediate.CrlPem([]));
        await WaitForStatusAsync(gateway, viaIntermediate, HttpStatusCode.Unauthorized);
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(gateway, direct));

        // A file that does not load keeps the lists read before.
        await ReplaceAsync(crlFile, "-----BEGIN X509 CRL-----\nbm90IGEgbGlzdA==\n-----END X509 CRL-----\n");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!logs.Entries.Any(e => e.Level == LogLevel.Warning && e.Message.Contains("does not load", StringComparison.Ordinal)))
        {
            Assert.True(DateTime.UtcNow < deadline, "no warning about the CRL file that does not load");
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(gateway, direct)); // a new connection looks at the file
            await Task.Delay(50);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(gateway, viaIntermediate));
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(gateway, direct));
    }

    [Fact]
    public async Task AListSignedByAnotherKeyUnderTheCasName_IsNotBelieved_AndAListPastItsNextUpdateRefuses()
    {
        using var rogue = new TestPki("Gatehouse Clients CA");
        var billing = _pki.IssueClient("billing");
        await using var backend = await RecordingBackend.StartAsync();
        var erp = Thumbprint(_pki.IssueClient("erp"));

        // Only a look-alike's list, revoking nothing: the CA has no list it signed, so nobody of it is let in.
        await using (var forged = await TestGateway.StartAsync(Yaml(backend.Url, CrlFile(rogue.CrlPem([])), erp)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(forged, billing));
        }

        // A look-alike's list revoking billing beside the CA's own: the forged revocation is not believed either.
        await using (var both = await TestGateway.StartAsync(Yaml(backend.Url, CrlFile(rogue.CrlPem([billing.Certificate]) + _pki.CrlPem([])), erp)))
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(both, billing));
        }

        var stale = _pki.CrlPem([], nextUpdate: DateTimeOffset.UtcNow.AddMinutes(-1), thisUpdate: DateTimeOffset.UtcNow.AddDays(-2));
        await using (var outOfDate = await TestGateway.StartAsync(Yaml(backend.Url, CrlFile(stale), erp)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await StatusAsync(outOfDate, billing));
        }

        // An old list beside its successor: the one issued last counts.
        var older = _pki.CrlPem([billing.Certificate], thisUpdate: DateTimeOffset.UtcNow.AddHours(-2));
        await using (var successor = await TestGateway.StartAsync(Yaml(backend.Url, CrlFile(older + _pki.CrlPem([])), erp)))
        {
            Assert.Equal(HttpStatusCode.OK, await StatusAsync(successor, billing));
        }
    }

    [Theory]
    [InlineData("-----BEGIN X509 CRL-----\nbm90IGEgbGlzdA==\n-----END X509 CRL-----\n", "does not parse")]
    [InlineData("", "holds no certificate revocation list")]
    public async Task ACrlFileThatDoesNotLoad_StopsTheStart_SayingWhatToWrite(string content, string expected)
    {
        await using var backend = await RecordingBackend.StartAsync();
        var error = await Assert.ThrowsAnyAsync<Exception>(async () =>
        {
            await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, CrlFile(content), Thumbprint(_pki.IssueClient("erp"))));
        });
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private async Task WaitForStatusAsync(TestGateway gateway, IssuedCertificate client, HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        HttpStatusCode last;
        while ((last = await StatusAsync(gateway, client)) != status)
        {
            Assert.True(DateTime.UtcNow < deadline, $"a new connection still gets {(int)last}, not {(int)status}");
            await Task.Delay(50);
        }
    }

    private static async Task ReplaceAsync(string path, string content)
    {
        await File.WriteAllTextAsync(path + ".new", content);
        File.Move(path + ".new", path, overwrite: true);
    }
}
