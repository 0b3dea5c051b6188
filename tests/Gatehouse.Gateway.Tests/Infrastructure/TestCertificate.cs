using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>
/// A self-signed certificate for 127.0.0.1 and localhost, made at test time and written as PEM files
/// (what a gateway listener reads). Clients trust it by comparing <see cref="Thumbprint"/>.
/// </summary>
internal sealed class TestCertificate : IDisposable
{
    private TestCertificate(X509Certificate2 certificate, TempDirectory directory, string certFile, string keyFile)
    {
        Certificate = certificate;
        Directory = directory;
        CertFile = certFile;
        KeyFile = keyFile;
    }

    public X509Certificate2 Certificate { get; }

    public TempDirectory Directory { get; }

    public string CertFile { get; }

    public string KeyFile { get; }

    /// <summary>SHA-256 thumbprint, upper-case hex.</summary>
    public string Thumbprint => Certificate.GetCertHashString(HashAlgorithmName.SHA256);

    public static TestCertificate Create()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=gatehouse-test", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        var directory = new TempDirectory();
        var certFile = directory.Write("cert.pem", certificate.ExportCertificatePem());
        var keyFile = directory.Write("key.pem", key.ExportPkcs8PrivateKeyPem());
        return new TestCertificate(certificate, directory, certFile, keyFile);
    }

    /// <summary>A client handler that accepts exactly this certificate.</summary>
    public SocketsHttpHandler CreateTrustingHandler()
    {
        var thumbprint = Thumbprint;
        var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
            cert is not null && string.Equals(cert.GetCertHashString(HashAlgorithmName.SHA256), thumbprint, StringComparison.OrdinalIgnoreCase);
        return handler;
    }

    public void Dispose()
    {
        Certificate.Dispose();
        Directory.Dispose();
    }
}
