using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Org.BouncyCastle.X509;
using BcBigInteger = Org.BouncyCastle.Math.BigInteger;

namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// The certificate revocation lists of one listener's client CAs (<c>gateway.listeners[].clientCertificates.crlFile</c>),
/// read from a local file, never fetched: a handshake that waited on a CA's distribution point would let a slow or
/// unreachable CA stall every new connection. Each list is believed only once its signature verifies with the public key
/// of the CA that issued the certificate being checked (a CA of <c>caFile</c> at load, or an intermediate the client sent,
/// the first time it is seen). With the file set, every CA of a chain must have a list that is current (before its
/// <c>nextUpdate</c>), or the certificate authenticates nobody: a CA whose list is missing or out of date cannot say that
/// a certificate was not revoked (fail closed, as nginx's <c>ssl_crl</c> and Envoy's <c>crl</c> do).
/// </summary>
/// <remarks>
/// Parsing and signature checks are BouncyCastle's: .NET can build CRLs but not read one or check its signature, and
/// its chain builder takes revocation lists only from the network or the OS's own cache directory.
/// </remarks>
internal sealed class RevocationLists
{
    // Extensions a CRL may mark critical that do not change what it says: the CRL number and the authority key id.
    private static readonly HashSet<string> Understood = ["2.5.29.20", "2.5.29.35"];

    private readonly IReadOnlyList<X509Crl> _lists;
    // Per issuing CA certificate (its SHA-256 thumbprint): the list it signed, or null for none. Filled at load for the CAs
    // of caFile and on first sight for an intermediate a client sent; a file's lists never change, so neither does this.
    private readonly ConcurrentDictionary<string, Signed?> _byIssuer = new(StringComparer.Ordinal);

    private RevocationLists(IReadOnlyList<X509Crl> lists) => _lists = lists;

    /// <summary>How many lists the file holds.</summary>
    public int Count => _lists.Count;

    /// <summary>
    /// Reads <paramref name="crlFile"/> (PEM or DER; one list or several). Throws <see cref="InvalidDataException"/>, with
    /// what to fix, when it holds no list, one that does not parse, a delta list, or a critical extension this does not
    /// understand (such as an issuing distribution point that limits what the list covers).
    /// </summary>
    public static RevocationLists Load(string crlFile, X509Certificate2Collection cas)
    {
        var bytes = File.ReadAllBytes(crlFile);
        IList<X509Crl> lists;
        try
        {
            lists = new X509CrlParser().ReadCrls(bytes);
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or Org.BouncyCastle.Security.Certificates.CrlException
            or Org.BouncyCastle.Asn1.Asn1Exception or Org.BouncyCastle.Asn1.Asn1ParsingException)
        {
            throw new InvalidDataException($"'{crlFile}' does not parse as certificate revocation lists ({e.Message}); write PEM (-----BEGIN X509 CRL-----) or DER CRLs.", e);
        }

        if (lists.Count == 0)
        {
            throw new InvalidDataException($"'{crlFile}' holds no certificate revocation list; write the CRLs of the client CAs (PEM or DER).");
        }

        foreach (var list in lists)
        {
            var critical = list.GetCriticalExtensionOids()?.Where(oid => !Understood.Contains(oid)).ToList() ?? [];
            if (critical.Count > 0)
            {
                var what = critical.Contains("2.5.29.27") ? "it is a delta CRL, which is not supported; write the issuer's complete CRL"
                    : critical.Contains("2.5.29.28") ? "it has an issuing distribution point, so it may cover only some certificates; write the issuer's complete CRL"
                    : $"it has critical extensions this does not understand ({string.Join(", ", critical)})";
                throw new InvalidDataException($"'{crlFile}': the CRL of {list.IssuerDN} cannot be used: {what}.");
            }
        }

        var loaded = new RevocationLists([.. lists]);
        foreach (var ca in cas)
        {
            loaded.Of(ca);
        }

        return loaded;
    }

    /// <summary>Why a chain authenticates nobody; <paramref name="WholeCa"/> when it is a CA's list that is missing or due, which refuses every client of that CA.</summary>
    public readonly record struct Refusal(string Reason, bool WholeCa);

    /// <summary>
    /// Why <paramref name="chain"/> (built, leaf first, the trusted root last) must not authenticate anyone, or null when
    /// no certificate in it is revoked and every issuer's list is current at <paramref name="now"/>.
    /// </summary>
    public Refusal? Refuses(X509Chain chain, DateTimeOffset now)
    {
        var elements = chain.ChainElements;
        for (var i = 0; i + 1 < elements.Count; i++)
        {
            var certificate = elements[i].Certificate;
            var issuer = elements[i + 1].Certificate;
            if (Of(issuer) is not { } list)
            {
                return new Refusal($"no CRL of {issuer.Subject} is in the CRL file", WholeCa: true);
            }

            if (list.NextUpdate is { } next && now >= next)
            {
                return new Refusal($"the CRL of {issuer.Subject} was due to be replaced at {next:u}", WholeCa: true);
            }

            if (list.Revoked.Contains(new BcBigInteger(certificate.SerialNumberBytes.ToArray())))
            {
                return new Refusal($"{certificate.Subject} (serial {certificate.SerialNumber}) is revoked by {issuer.Subject}", WholeCa: false);
            }
        }

        return null;
    }

    /// <summary>The list <paramref name="issuer"/> signed, found (and its signature checked) once per issuer.</summary>
    private Signed? Of(X509Certificate2 issuer) =>
        _byIssuer.GetOrAdd(issuer.GetCertHashString(HashAlgorithmName.SHA256), static (_, state) => state.Self.Find(state.Issuer), (Self: this, Issuer: issuer));

    private Signed? Find(X509Certificate2 issuer)
    {
        var parsed = new X509CertificateParser().ReadCertificate(issuer.RawData);
        var key = parsed.GetPublicKey();
        Signed? newest = null;
        foreach (var list in _lists)
        {
            if (!list.IssuerDN.Equivalent(parsed.SubjectDN))
            {
                continue;
            }

            try
            {
                list.Verify(key);
            }
            catch (Exception e) when (e is Org.BouncyCastle.Security.InvalidKeyException or Org.BouncyCastle.Security.SignatureException
                or Org.BouncyCastle.Security.Certificates.CrlException or InvalidOperationException or ArgumentException)
            {
                continue; // another CA's list under the same name: believed only with its own signature
            }

            // Several lists of one CA (an old one left beside its successor): the one issued last says the most.
            if (newest is null || list.ThisUpdate > newest.ThisUpdate)
            {
                var revoked = new HashSet<BcBigInteger>();
                foreach (var entry in list.GetRevokedCertificates() ?? new HashSet<X509CrlEntry>())
                {
                    revoked.Add(entry.SerialNumber);
                }

                newest = new Signed(list.ThisUpdate, list.NextUpdate is { } next ? new DateTimeOffset(DateTime.SpecifyKind(next, DateTimeKind.Utc)) : null, revoked);
            }
        }

        return newest;
    }

    private sealed record Signed(DateTime ThisUpdate, DateTimeOffset? NextUpdate, HashSet<BcBigInteger> Revoked);
}
