using System.Collections.Frozen;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Gateway.Authentication;

/// <summary>An immutable set of an issuer's signing keys, by <c>kid</c>. Replaced whole on refresh, never changed.</summary>
internal sealed class JwksKeySet
{
    public static readonly JwksKeySet Empty = new(FrozenDictionary<string, SecurityKey>.Empty);

    public JwksKeySet(FrozenDictionary<string, SecurityKey> byKid)
    {
        ByKid = byKid;
        Keys = [.. byKid.Values];
    }

    public FrozenDictionary<string, SecurityKey> ByKid { get; }

    public IReadOnlyList<SecurityKey> Keys { get; }

    /// <summary>
    /// Reads a JSON Web Key Set, keeping only public signature keys (RSA and EC, <c>use</c> absent or <c>sig</c>)
    /// that have a <c>kid</c>. Symmetric (<c>oct</c>) and private keys are dropped: the pinned algorithms are all
    /// asymmetric, and a JWKS that publishes a private key is broken, not a source of trust.
    /// </summary>
    /// <exception cref="FormatException">The text is not a JWKS, or it has no usable key.</exception>
    public static JwksKeySet Parse(string json)
    {
        JsonWebKeySet set;
        try
        {
            set = new JsonWebKeySet(json);
        }
        catch (ArgumentException e)
        {
            throw new FormatException("not a JSON Web Key Set: " + e.Message, e);
        }

        var keys = new Dictionary<string, SecurityKey>(StringComparer.Ordinal);
        foreach (var key in set.Keys)
        {
            if (key.Kty is not (JsonWebAlgorithmsKeyTypes.RSA or JsonWebAlgorithmsKeyTypes.EllipticCurve)
                || key.Use is not (null or "" or JsonWebKeyUseNames.Sig)
                || string.IsNullOrEmpty(key.Kid)
                || key.HasPrivateKey)
            {
                continue;
            }

            keys.TryAdd(key.Kid, key);
        }

        if (keys.Count == 0)
        {
            throw new FormatException("the key set has no RSA or EC signing key with a 'kid'.");
        }

        return new JwksKeySet(keys.ToFrozenDictionary(StringComparer.Ordinal));
    }
}
