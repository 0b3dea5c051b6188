using Gatehouse.Model.Tests.Support;
using Gatehouse.Model.Validation;

namespace Gatehouse.Model.Tests.Validation;

public sealed class GatewayValidationTests
{
    [Theory]
    [InlineData("ftp://127.0.0.1:21", "is not a listener address")]
    [InlineData("127.0.0.1:8080", "is not a listener address")]
    [InlineData("http://127.0.0.1:8080/api", "path, query, fragment or user")]
    [InlineData("http://127.0.0.1:8080/?x=1", "path, query, fragment or user")]
    [InlineData("http://127.0.0.1:8080/#x", "path, query, fragment or user")]
    [InlineData("http://user@127.0.0.1:8080", "path, query, fragment or user")]
    [InlineData("http://gateway.example.com:8080", "listen on an IP address")]
    public void ListenerUrl_Invalid_IsReportedWithItsPath(string url, string expected)
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway($"""
            listeners:
              - url: http://127.0.0.1:8080
              - url: "{url}"
            """), "gateway.listeners[1].url");

        Assert.Contains($"'{url}'", error.Message, StringComparison.Ordinal);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://127.0.0.1:8080", false)]
    [InlineData("http://*:8080", false)]
    [InlineData("http://+:8080", false)]
    [InlineData("http://localhost:8080", false)]
    [InlineData("http://[::1]:8080", false)]
    [InlineData("https://0.0.0.0:8443", true)]
    public void ListenerUrl_Valid_IsAccepted(string url, bool https)
    {
        Assert.True(ConfigValidator.TryParseListenerUrl(url, out var isHttps, out var error), error);
        Assert.Equal(https, isHttps);
    }

    [Fact]
    public void Listener_SameAddressTwice_IsADuplicate()
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway("""
            listeners:
              - url: http://127.0.0.1:8080
              - url: http://127.0.0.1:8080/
            """), "gateway.listeners[1].url");

        Assert.Contains("listeners[0]", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Listener_SameAddressOnOtherPortOrPortZero_IsNotADuplicate()
    {
        var c = ConfigText.Valid(ConfigText.WithGateway("""
            listeners:
              - url: http://127.0.0.1:8080
              - url: http://127.0.0.1:8081
              - url: http://127.0.0.1:0
              - url: http://127.0.0.1:0
            """));

        Assert.Equal(4, c.Gateway.Listeners.Count);
    }

    [Fact]
    public void HttpsListener_WithoutCertificate_SaysWhatToAdd()
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway("""
            listeners:
              - url: https://0.0.0.0:8443
            """), "gateway.listeners[0].certificate");

        Assert.Contains("'certFile' and 'keyFile'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProxyProtocolListener_WithoutTrustedProxies_SaysWhereToListTheBalancers()
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway("""
            listeners:
              - url: http://0.0.0.0:8080
                proxyProtocol: true
            """), "gateway.listeners[0].proxyProtocol");

        Assert.Contains("gateway.trustedProxies", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProxyProtocolListener_WithTrustedProxies_IsAccepted()
    {
        var c = ConfigText.Valid(ConfigText.WithGateway("""
            trustedProxies: [10.0.0.0/8]
            listeners:
              - url: http://0.0.0.0:8080
                proxyProtocol: true
            """));

        Assert.True(c.Gateway.Listeners[0].ProxyProtocol);
    }

    [Fact]
    public void HttpListener_WithCertificate_IsRejected()
    {
        using var dir = new TempDirectory();
        dir.File("a.crt");
        dir.File("a.key");

        var error = ConfigText.SingleError(ConfigText.WithGateway("""
            listeners:
              - url: http://0.0.0.0:8080
                certificate: {certFile: a.crt, keyFile: a.key}
            """), "gateway.listeners[0].certificate", baseDirectory: dir.Path);

        Assert.Contains("use an https url or remove the certificate", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void HttpsListener_MissingCertFiles_ReportsEachWithItsFullPath()
    {
        using var dir = new TempDirectory();

        var result = ConfigText.Load(ConfigText.WithGateway("""
            listeners:
              - url: https://0.0.0.0:8443
                certificate:
                  certFile: tls/gateway.crt
                  keyFile: tls/gateway.key
            """), baseDirectory: dir.Path);

        Assert.Equal(["gateway.listeners[0].certificate.certFile", "gateway.listeners[0].certificate.keyFile"], result.Errors.Select(e => e.Path));
        Assert.Equal($"file '{Path.Combine(dir.Path, "tls", "gateway.crt")}' does not exist.", result.Errors[0].Message);
    }

    [Fact]
    public void HttpsListener_CertificateWithoutKeyFile_ReportsOnlyTheMissingKey()
    {
        using var dir = new TempDirectory();
        dir.File("a.crt");

        // The certificate cannot be bound without its key; "needs a certificate" on top would be a second,
        // misleading error about the same mistake.
        var error = ConfigText.SingleError(ConfigText.WithGateway("""
            listeners:
              - url: https://0.0.0.0:8443
                certificate:
                  certFile: a.crt
            """), "gateway.listeners[0].certificate.keyFile", baseDirectory: dir.Path);

        Assert.Contains("required", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Listener_BadUrlAndMissingCertFiles_ReportsBoth()
    {
        using var dir = new TempDirectory();

        var result = ConfigText.Load(ConfigText.WithGateway("""
            listeners:
              - url: https://gateway.example.com:8443
                certificate: {certFile: a.crt, keyFile: a.key}
            """), baseDirectory: dir.Path);

        Assert.Equal(
            ["gateway.listeners[0].url", "gateway.listeners[0].certificate.certFile", "gateway.listeners[0].certificate.keyFile"],
            result.Errors.Select(e => e.Path));
    }

    [Theory]
    [InlineData("10.0.0.0/8")]
    [InlineData("192.168.1.7")]
    [InlineData("::1")]
    [InlineData("fd00::/8")]
    public void TrustedProxy_AddressOrRange_IsAccepted(string proxy)
    {
        var c = ConfigText.Valid(ConfigText.WithGateway($"trustedProxies: [\"{proxy}\"]"));

        Assert.Equal([proxy], c.Gateway.TrustedProxies);
    }

    [Theory]
    [InlineData("proxy.internal")]
    [InlineData("10.0.0.0/33")]
    [InlineData("10.0.0")]
    [InlineData("10")]
    [InlineData("10.0.0.0/")]
    [InlineData("0x0a000001")]
    [InlineData("010.0.0.1")]
    [InlineData("")]
    public void TrustedProxy_Invalid_IsReportedWithItsIndex(string proxy)
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway($"trustedProxies: [127.0.0.1, \"{proxy}\"]"), "gateway.trustedProxies[1]");

        Assert.Contains($"'{proxy}'", error.Message, StringComparison.Ordinal);
        Assert.Contains("10.0.0.0/8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrustedProxy_RangeWithHostBits_SaysWhichRangeWasMeant()
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway("trustedProxies: [10.1.2.3/8]"), "gateway.trustedProxies[0]");

        Assert.Contains("'10.0.0.0/8'", error.Message, StringComparison.Ordinal);
        Assert.Contains("drop '/8'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TrustedProxy_Ipv6RangeWithHostBits_SaysWhichRangeWasMeant()
    {
        var error = ConfigText.SingleError(ConfigText.WithGateway("trustedProxies: [\"fd00::1/8\"]"), "gateway.trustedProxies[0]");

        Assert.Contains("'fd00::/8'", error.Message, StringComparison.Ordinal);
    }
}
