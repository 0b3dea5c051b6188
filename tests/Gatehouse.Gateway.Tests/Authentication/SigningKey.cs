using System.Security.Cryptography;
using System.Text.Json;

namespace Gatehouse.Gateway.Tests.Authentication;

/// <summary>An RSA or EC key pair made at test time, with its public JWK and a JWS signer for its algorithm.</summary>
internal sealed class SigningKey : IDisposable
{
    private readonly RSA? _rsa;
    private readonly ECDsa? _ec;

    private SigningKey(string kid, string alg, RSA? rsa, ECDsa? ec)
    {
        Kid = kid;
        Alg = alg;
        _rsa = rsa;
        _ec = ec;
    }

    public string Kid { get; }

    public string Alg { get; }

    public static SigningKey Rsa(string kid, string alg = "RS256") => new(kid, alg, RSA.Create(2048), null);

    public static SigningKey Ec(string kid) => new(kid, "ES256", null, ECDsa.Create(ECCurve.NamedCurves.nistP256));

    /// <summary>The public key as a JWK object (what a JWKS publishes).</summary>
    public Dictionary<string, object> PublicJwk()
    {
        if (_rsa is not null)
        {
            var p = _rsa.ExportParameters(false);
            return new() { ["kty"] = "RSA", ["kid"] = Kid, ["use"] = "sig", ["alg"] = Alg, ["n"] = Jws.B64(p.Modulus!), ["e"] = Jws.B64(p.Exponent!) };
        }

        var q = _ec!.ExportParameters(false);
        return new() { ["kty"] = "EC", ["kid"] = Kid, ["use"] = "sig", ["crv"] = "P-256", ["x"] = Jws.B64(q.Q.X!), ["y"] = Jws.B64(q.Q.Y!) };
    }

    /// <summary>The public key in PEM, as an attacker who read the JWKS would have it (for the HS256 confusion attack).</summary>
    public byte[] PublicKeyPem() => System.Text.Encoding.ASCII.GetBytes(_rsa is not null ? _rsa.ExportSubjectPublicKeyInfoPem() : _ec!.ExportSubjectPublicKeyInfoPem());

    public byte[] Sign(byte[] data) => Alg switch
    {
        "RS256" => _rsa!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1),
        "PS256" => _rsa!.SignData(data, HashAlgorithmName.SHA256, RSASignaturePadding.Pss),
        "ES256" => _ec!.SignData(data, HashAlgorithmName.SHA256), // IEEE P1363 (r || s), which is what JWS uses
        _ => throw new NotSupportedException(Alg),
    };

    public static string Jwks(params SigningKey[] keys) => JsonSerializer.Serialize(new { keys = keys.Select(k => k.PublicJwk()) });

    public void Dispose()
    {
        _rsa?.Dispose();
        _ec?.Dispose();
    }
}
