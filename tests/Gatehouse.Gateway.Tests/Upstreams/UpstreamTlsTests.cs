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
}
