using System.Net;
using System.Net.Http.Json;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>HTTPS listeners load their certificate from PEM files and negotiate HTTP/2 with ALPN.</summary>
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
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              listeners:
                - url: https://127.0.0.1:0
                  certificate:
                    certFile: {{certificate.CertFile}}
                    keyFile: {{certificate.KeyFile}}
            services:
              backend:
                targets: [{{backend.Url}}]
            routes:
              all:
                path: /{**rest}
                service: backend
            """);
        using var client = gateway.CreateClient(Version.Parse(version), certificate.CreateTrustingHandler());

        using var response = await client.GetAsync("/secure?x=1");
        var echo = await response.Content.ReadFromJsonAsync<EchoResponse>();

        Assert.StartsWith("https://127.0.0.1:", gateway.Url, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(Version.Parse(version), response.Version);
        Assert.Equal("/secure?x=1", echo!.RawTarget);
        Assert.Equal("https", echo.Header("X-Forwarded-Proto"));
    }
}
