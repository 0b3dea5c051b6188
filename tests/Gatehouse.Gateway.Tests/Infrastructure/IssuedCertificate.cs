using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>A certificate issued by <see cref="TestPki"/>: its PEM files, the certificate with its key, and the intermediates between it and the root.</summary>
internal sealed record IssuedCertificate(string CertFile, string KeyFile, X509Certificate2 Certificate, X509Certificate2Collection Intermediates)
{
    /// <summary>A client handler that accepts exactly this certificate (by SHA-256 thumbprint, whatever the name it is reached by).</summary>
    public SocketsHttpHandler CreateTrustingHandler()
    {
        var thumbprint = Certificate.GetCertHashString(HashAlgorithmName.SHA256);
        var handler = new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false };
        handler.SslOptions.RemoteCertificateValidationCallback = (_, cert, _, _) =>
            cert is not null && string.Equals(cert.GetCertHashString(HashAlgorithmName.SHA256), thumbprint, StringComparison.OrdinalIgnoreCase);
        return handler;
    }
}
