using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// The CA certificates one listener's clients must chain to (<c>gateway.listeners[].clientCertificates.caFile</c>),
/// read once when the listener starts. Revocation is not checked; a certificate is withdrawn by removing it from its
/// application, which a reload applies.
/// </summary>
internal sealed class ClientCertificateAuthority
{
    private static readonly System.Security.Cryptography.Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");

    private readonly X509Certificate2Collection _roots;
    private readonly TimeProvider _time;

    public ClientCertificateAuthority(string caFile, TimeProvider time)
    {
        _roots = [];
        _roots.ImportFromPemFile(caFile);
        if (_roots.Count == 0)
        {
            throw new InvalidOperationException($"'{caFile}' holds no PEM certificate; write the CA certificates client certificates must chain to.");
        }

        _time = time;
    }

    /// <summary>
    /// True when <paramref name="certificate"/> chains to one of the CA certificates, using the intermediates the client
    /// sent (<paramref name="presented"/>'s extra store), is within its validity period and, when it names its uses,
    /// allows client authentication.
    /// </summary>
    public bool Trusts(X509Certificate2 certificate, X509Chain? presented)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_roots);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.ApplicationPolicy.Add(ClientAuth);
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }

        return chain.Build(certificate);
    }
}
