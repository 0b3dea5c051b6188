using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Tests.Upstreams;

/// <summary>
/// Upstream TLS against real Kestrel HTTPS backends with certificates made at test time. The targets are DNS
/// names that the (fake) resolver maps to 127.0.0.1, so these tests also show that a destination which connects
/// to an IP still uses the target's name for SNI and for the certificate name check.
/// </summary>
public sealed class UpstreamTlsTests : IDisposable
{
    private const string BackendName = "backend.gatehouse.test";

    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    private sealed record TlsBackend(TestBackend Backend, ConcurrentQueue<string?> ServerNames) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Backend.DisposeAsync();
    }

    /// <summary>An HTTPS backend that answers <c>/hello</c> with the Host it was asked for and the client certificate's subject.</summary>
    private static async Task<TlsBackend> StartBackendAsync(IssuedCertificate certificate, TestPki? requireClientCertificateFrom = null)
    {
        var serverNames = new ConcurrentQueue<string?>();
        var backend = await TestBackend.StartAsync(
            app => app.MapGet("/hello", (HttpContext c) => $"{c.Request.Host} {c.Connection.ClientCertificate?.Subject ?? "anonymous"}"),
            https: h =>
            {
                h.ServerCertificateSelector = (_, name) =>
                {
                    serverNames.Enqueue(name);
                    return certificate.Certificate;
                };
                if (requireClientCertificateFrom is not null)
                {
                    h.ClientCertificateMode = ClientCertificateMode.RequireCertificate;
                    h.ClientCertificateValidation = (client, chain, _) => requireClientCertificateFrom.Issued(client, chain);
                }
            });
        return new TlsBackend(backend, serverNames);
    }

    private static async Task<Upstream> StartUpstreamAsync(int port, UpstreamTlsConfig? tls)
    {
        var upstream = new Upstream(
            "secure",
            new ServiceConfig { Targets = [new TargetConfig { Url = $"https://{BackendName}:{port}" }], Tls = tls },
            TimeProvider.System,
            NullLoggerFactory.Instance,
            (_, _) => Task.FromResult(new[] { IPAddress.Loopback }));
        upstream.Start();
        await Wait.UntilAsync(() => upstream.Destinations.Single().Address == "127.0.0.1", "discovery to resolve the target");
        return upstream;
    }

    private static async Task<string> GetHelloAsync(Upstream upstream)
    {
        var d = upstream.Pick()!;
        using var request = new HttpRequestMessage(HttpMethod.Get, d.BaseAddress + "/hello")
        {
            Version = upstream.RequestVersion,
            VersionPolicy = upstream.VersionPolicy,
        };
        request.Headers.Host = d.HostHeader;
        using var response = await upstream.Invoker.SendAsync(request, CancellationToken.None);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    [Fact]
    public async Task CaFile_ServerCertificateFromThatCa_RequestSucceedsWithTheTargetNameAsSniAndHost()
    {
        await using var backend = await StartBackendAsync(_pki.IssueServer(BackendName));
        await using var upstream = await StartUpstreamAsync(backend.Backend.Port, new UpstreamTlsConfig { CaFile = _pki.CaFile });

        var answer = await GetHelloAsync(upstream);

        Assert.StartsWith("https://127.0.0.1:", upstream.Destinations[0].BaseAddress, StringComparison.Ordinal);
        Assert.Equal($"{BackendName}:{backend.Backend.Port} anonymous", answer);
        Assert.Equal([BackendName], backend.ServerNames);
    }

    [Fact]
    public async Task NoCaFile_SystemStoreDoesNotTrustTheCa_RequestFails()
    {
        await using var backend = await StartBackendAsync(_pki.IssueServer(BackendName));
        await using var upstream = await StartUpstreamAsync(backend.Backend.Port, tls: null);

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => GetHelloAsync(upstream));

        Assert.IsType<AuthenticationException>(error.InnerException);
    }

    [Fact]
    public async Task CaFile_ServerCertificateFromAnotherCa_RequestFails()
    {
        using var other = new TestPki("Some Other CA");
        await using var backend = await StartBackendAsync(other.IssueServer(BackendName));
        await using var upstream = await StartUpstreamAsync(backend.Backend.Port, new UpstreamTlsConfig { CaFile = _pki.CaFile });

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => GetHelloAsync(upstream));

        Assert.IsType<AuthenticationException>(error.InnerException);
    }

    [Fact]
    public async Task CaFile_TrustedCertificateForAnotherName_RequestFails()
    {
        // Trusting a CA must not turn off the name check.
        await using var backend = await StartBackendAsync(_pki.IssueServer("someone-else.gatehouse.test"));
        await using var upstream = await StartUpstreamAsync(backend.Backend.Port, new UpstreamTlsConfig { CaFile = _pki.CaFile });

        var error = await Assert.ThrowsAsync<HttpRequestException>(() => GetHelloAsync(upstream));

        Assert.IsType<AuthenticationException>(error.InnerException);
    }

    [Fact]
    public async Task CaFile_ServerSendsItsIntermediate_ChainIsBuiltToTheRoot()
    {
        using var intermediate = _pki.CreateIntermediate("Gatehouse Test Issuing CA");
        var server = intermediate.IssueServer(BackendName);
        await using var backend = await TestBackend.StartAsync(
            app => app.MapGet("/hello", () => "chained"),
            https: h =>
            {
                h.ServerCertificate = server.Certificate;
                h.ServerCertificateChain = server.Intermediates;
            });
        await using var upstream = await StartUpstreamAsync(backend.Port, new UpstreamTlsConfig { CaFile = _pki.CaFile });

        Assert.Equal("chained", await GetHelloAsync(upstream));
    }

    [Fact]
    public async Task ClientCertificate_BackendRequiresOne_ConfiguredCertificateIsAccepted()
    {
        var client = _pki.IssueClient("gatehouse-gateway");
        await using var backend = await StartBackendAsync(_pki.IssueServer(BackendName), requireClientCertificateFrom: _pki);
        await using var upstream = await StartUpstreamAsync(
            backend.Backend.Port,
            new UpstreamTlsConfig { CaFile = _pki.CaFile, ClientCertificate = new CertificateConfig { CertFile = client.CertFile, KeyFile = client.KeyFile } });

        var answer = await GetHelloAsync(upstream);

        Assert.Equal($"{BackendName}:{backend.Backend.Port} CN=gatehouse-gateway", answer);
    }

    [Fact]
    public async Task ClientCertificate_IssuedByAnIntermediate_IsSentWithItsChain()
    {
        // The backend trusts only the root, so it accepts the client only if the intermediate comes along.
        using var intermediate = _pki.CreateIntermediate("Gatehouse Test Client CA");
        var client = intermediate.IssueClient("chained-gateway");
        await using var backend = await StartBackendAsync(_pki.IssueServer(BackendName), requireClientCertificateFrom: _pki);
        await using var upstream = await StartUpstreamAsync(
            backend.Backend.Port,
            new UpstreamTlsConfig { CaFile = _pki.CaFile, ClientCertificate = new CertificateConfig { CertFile = client.CertFile, KeyFile = client.KeyFile } });

        var answer = await GetHelloAsync(upstream);

        Assert.EndsWith("CN=chained-gateway", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NoClientCertificate_BackendRequiresOne_RequestFails()
    {
        await using var backend = await StartBackendAsync(_pki.IssueServer(BackendName), requireClientCertificateFrom: _pki);
        await using var upstream = await StartUpstreamAsync(backend.Backend.Port, new UpstreamTlsConfig { CaFile = _pki.CaFile });

        await Assert.ThrowsAsync<HttpRequestException>(() => GetHelloAsync(upstream));
    }

    [Fact]
    public void ConfigureTls_CaFileWithoutCertificates_ThrowsAndSaysWhy()
    {
        var empty = Path.Combine(_pki.Directory, "empty.pem");
        File.WriteAllText(empty, "not a certificate\n");

        var error = Assert.Throws<InvalidOperationException>(() =>
            UpstreamHandlerFactory.ConfigureTls(new SslClientAuthenticationOptions(), new UpstreamTlsConfig { CaFile = empty }));

        Assert.Contains("empty.pem", error.Message);
    }

    /// <summary>
    /// A service's client certificate renewed in place (the files rewritten, as cert-manager or a Vault agent does): the
    /// gateway presents the new one on its next connections without a reload, and a renewal that does not load yet (a
    /// key that is not the certificate's) leaves the one in use, with a warning, until the files are right.
    /// </summary>
    [Fact]
    public async Task ClientCertificate_RenewedInPlace_IsPresentedWithoutAReload_AndOneThatDoesNotLoadKeepsTheOldOne()
    {
        var one = _pki.IssueClient("client-one");
        var two = _pki.IssueClient("client-two");
        var three = _pki.IssueClient("client-three");
        await using var backend = await StartBackendAsync(_pki.IssueServer("127.0.0.1"), requireClientCertificateFrom: _pki);
        var certFile = Path.Combine(_pki.Directory, "gateway-client.pem");
        var keyFile = Path.Combine(_pki.Directory, "gateway-client.key");
        Renew(one, one, certFile, keyFile);
        var logs = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Parse($$"""
            version: 1
            services:
              secure:
                targets: ["https://127.0.0.1:{{backend.Backend.Port}}"]
                tls: { caFile: "{{_pki.CaFile}}", clientCertificate: { certFile: "{{certFile}}", keyFile: "{{keyFile}}" } }
            routes:
              hello: { path: /hello, service: secure }
            """), logs: logs, minimumLogLevel: Microsoft.Extensions.Logging.LogLevel.Information,
            options: o => o with { CertificateCheckInterval = TimeSpan.FromMilliseconds(100) });

        Assert.EndsWith(" CN=client-one", await gateway.Client.GetStringAsync("/hello"), StringComparison.Ordinal);

        Renew(two, two, certFile, keyFile);
        await Wait.UntilAsync(async () => (await gateway.Client.GetStringAsync("/hello")).EndsWith(" CN=client-two", StringComparison.Ordinal), "the renewed client certificate to be presented");
        Assert.Contains(logs.Entries, e => e.Message == "Service secure: its TLS files changed; its connections are made anew with them");

        // The certificate of three with the key of two: refused, and two goes on being presented.
        Renew(three, two, certFile, keyFile);
        await logs.WaitForAsync(e => e.Message.StartsWith("Service secure: its TLS files changed but do not load", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        Assert.EndsWith(" CN=client-two", await gateway.Client.GetStringAsync("/hello"), StringComparison.Ordinal);

        Renew(three, three, certFile, keyFile);
        await Wait.UntilAsync(async () => (await gateway.Client.GetStringAsync("/hello")).EndsWith(" CN=client-three", StringComparison.Ordinal), "the corrected renewal to be presented");
    }

    // Writes the certificate of `certificate` and the key of `key` over the gateway's files, each whole (renamed over it).
    private static void Renew(IssuedCertificate certificate, IssuedCertificate key, string certFile, string keyFile)
    {
        File.WriteAllText(certFile + ".new", File.ReadAllText(certificate.CertFile));
        File.Move(certFile + ".new", certFile, overwrite: true);
        File.WriteAllText(keyFile + ".new", File.ReadAllText(key.KeyFile));
        File.Move(keyFile + ".new", keyFile, overwrite: true);
    }
}
