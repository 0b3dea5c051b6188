using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>
/// A throwaway certificate authority made at test time, with PEM files in a temporary directory: what a user
/// would put in <c>tls.caFile</c> and <c>tls.clientCertificate</c>. <see cref="CreateIntermediate"/> makes a
/// CA under it, whose certificates' PEM files carry the intermediate after the leaf, as real chains do.
/// </summary>
internal sealed class TestPki : IDisposable
{
    private static readonly Oid ServerAuth = new("1.3.6.1.5.5.7.3.1");
    private static readonly Oid ClientAuth = new("1.3.6.1.5.5.7.3.2");
    private static readonly TimeSpan DefaultValidity = TimeSpan.FromDays(30);

    private readonly ECDsa _caKey;
    private readonly TestPki? _parent;
    private System.Numerics.BigInteger _crlNumber;

    public TestPki(string name = "Gatehouse Test CA")
        : this(name, parent: null)
    {
    }

    private TestPki(string name, TestPki? parent)
    {
        _parent = parent;
        Directory = System.IO.Directory.CreateTempSubdirectory("gatehouse-pki-").FullName;
        _caKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", _caKey, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var notBefore = DateTimeOffset.UtcNow.AddDays(-1);
        var notAfter = DateTimeOffset.UtcNow.AddYears(1);
        if (parent is null)
        {
            // Kept without its key, like an intermediate; Issue pairs them when signing.
            using var selfSigned = request.CreateSelfSigned(notBefore, notAfter);
            Ca = X509CertificateLoader.LoadCertificate(selfSigned.RawData);
        }
        else
        {
            request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(parent.Ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
            using var issuer = parent.Ca.CopyWithPrivateKey(parent._caKey);
            Ca = request.Create(issuer, notBefore.AddHours(1), notAfter.AddDays(-1), RandomNumberGenerator.GetBytes(16));
        }

        CaFile = Path.Combine(Directory, "ca.pem");
        File.WriteAllText(CaFile, Ca.ExportCertificatePem());
    }

    public string Directory { get; }

    public X509Certificate2 Ca { get; }

    /// <summary>The CA certificate as PEM: a <c>tls.caFile</c>.</summary>
    public string CaFile { get; }

    /// <summary>A CA signed by this one.</summary>
    public TestPki CreateIntermediate(string name) => new(name, this);

    /// <summary>
    /// A TLS server certificate for <paramref name="dnsName"/> (an IP address written as one is its address instead), valid
    /// from an hour ago until <paramref name="validFor"/> from now (default 30 days).
    /// </summary>
    public IssuedCertificate IssueServer(string dnsName, TimeSpan? validFor = null) => Issue(dnsName, ServerAuth, validFor ?? DefaultValidity);

    /// <summary>A TLS client certificate with subject <c>CN=<paramref name="commonName"/></c>.</summary>
    public IssuedCertificate IssueClient(string commonName) => Issue(commonName, ClientAuth, DefaultValidity);

    /// <summary>
    /// True when <paramref name="certificate"/> chains to this PKI's root, with the certificates the peer sent
    /// (<paramref name="presented"/>'s extra store) as intermediates: what a backend checks of a client.
    /// </summary>
    public bool Issued(X509Certificate2 certificate, X509Chain? presented = null)
    {
        var root = this;
        while (root._parent is not null)
        {
            root = root._parent;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(root.Ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        if (presented is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(presented.ChainPolicy.ExtraStore);
        }

        return chain.Build(certificate);
    }

    /// <summary>
    /// This CA's certificate revocation list (PEM) revoking <paramref name="revoked"/>, issued at <paramref name="thisUpdate"/>
    /// (default a minute ago) and due to be replaced at <paramref name="nextUpdate"/> (default a day from now).
    /// </summary>
    public string CrlPem(IEnumerable<X509Certificate2> revoked, DateTimeOffset? nextUpdate = null, DateTimeOffset? thisUpdate = null)
    {
        var builder = new CertificateRevocationListBuilder();
        foreach (var certificate in revoked)
        {
            builder.AddEntry(certificate, DateTimeOffset.UtcNow.AddMinutes(-5), X509RevocationReason.KeyCompromise);
        }

        using var issuer = Ca.CopyWithPrivateKey(_caKey);
        var der = builder.Build(issuer, ++_crlNumber, nextUpdate ?? DateTimeOffset.UtcNow.AddDays(1), HashAlgorithmName.SHA256, thisUpdate: thisUpdate ?? DateTimeOffset.UtcNow.AddMinutes(-1));
        return PemEncoding.WriteString("X509 CRL", der) + "\n";
    }

    public void Dispose()
    {
        _caKey.Dispose();
        Ca.Dispose();
        System.IO.Directory.Delete(Directory, recursive: true);
    }

    private IssuedCertificate Issue(string name, Oid usage, TimeSpan validFor)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name}", key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([usage], critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Ca, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        if (usage.Value == ServerAuth.Value)
        {
            var san = new SubjectAlternativeNameBuilder();
            if (System.Net.IPAddress.TryParse(name, out var address))
            {
                san.AddIpAddress(address); // a target written as an address is checked against the address
            }
            else
            {
                san.AddDnsName(name);
            }

            request.CertificateExtensions.Add(san.Build());
        }

        using var issuer = Ca.CopyWithPrivateKey(_caKey);
        using var signed = request.Create(issuer, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow + validFor, RandomNumberGenerator.GetBytes(16));
        var stem = Path.Combine(Directory, $"{name}-{Guid.NewGuid():N}");
        var certFile = stem + ".pem";
        var keyFile = stem + ".key";

        // Leaf first, then the intermediates up to (not including) the root, as servers and clients send them.
        var pem = signed.ExportCertificatePem() + "\n";
        for (var ca = this; ca._parent is not null; ca = ca._parent)
        {
            pem += ca.Ca.ExportCertificatePem() + "\n";
        }

        File.WriteAllText(certFile, pem);
        File.WriteAllText(keyFile, key.ExportPkcs8PrivateKeyPem());
        var intermediates = new X509Certificate2Collection();
        for (var ca = this; ca._parent is not null; ca = ca._parent)
        {
            intermediates.Add(X509CertificateLoader.LoadCertificate(ca.Ca.RawData));
        }

        return new IssuedCertificate(certFile, keyFile, X509Certificate2.CreateFromPemFile(certFile, keyFile), intermediates);
    }
}
