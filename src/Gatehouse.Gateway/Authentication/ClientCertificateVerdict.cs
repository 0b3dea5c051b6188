using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Model.Access;

namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// A connection feature set during the TLS handshake of a listener with <c>clientCertificates</c>: the client's
/// certificate, whether it chains to the listener's CA, and the names applications are matched by. Computed once per
/// connection, so requests on it only look names up.
/// </summary>
internal sealed class ClientCertificateVerdict
{
    public ClientCertificateVerdict(X509Certificate2 certificate, bool trusted)
    {
        Trusted = trusted;
        Thumbprint = certificate.GetCertHashString(HashAlgorithmName.SHA256);
        var subject = ClientCertificateNames.NormalizeName(certificate.SubjectName.Name);
        var issuer = ClientCertificateNames.NormalizeName(certificate.IssuerName.Name);
        SubjectAndIssuer = subject is null || issuer is null ? null : SubjectKey(subject, issuer);
    }

    /// <summary>Whether the certificate chains to the listener's CA; an untrusted one authenticates nobody.</summary>
    public bool Trusted { get; }

    /// <summary>The SHA-256 thumbprint, upper-case hex.</summary>
    public string Thumbprint { get; }

    /// <summary>The normalized subject and issuer, as <see cref="SubjectKey"/> joins them; null when either does not parse.</summary>
    public string? SubjectAndIssuer { get; }

    /// <summary>The one key for a subject and an issuer, from config and from certificates alike.</summary>
    public static string SubjectKey(string subject, string issuer) => subject + "\n" + issuer;
}
