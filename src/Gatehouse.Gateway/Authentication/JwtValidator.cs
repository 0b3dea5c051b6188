using System.Collections.Frozen;
using Microsoft.IdentityModel.JsonWebTokens;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// Validates compact JWS bearer tokens against the configured issuers. The token's unverified <c>iss</c> only picks
/// which issuer's rules apply; everything is then verified with that issuer's pinned algorithms and its own key set.
/// Keys come only from the issuer's <see cref="JwksCache"/>: <c>jku</c>, <c>x5u</c>, <c>jwk</c> and <c>x5c</c> headers
/// are never fetched nor trusted. Never calls the JWKS host per request (see <see cref="JwksCache"/>).
/// </summary>
internal sealed class JwtValidator
{
    // Bigger than any real access token; stops a multi-megabyte header from being parsed at all.
    public const int MaxTokenLength = 16 * 1024;

    private readonly FrozenDictionary<string, JwtIssuerModel> _byIssuer;
    private readonly JsonWebTokenHandler _handler = new() { MapInboundClaims = false };

    public JwtValidator(IEnumerable<JwtIssuerModel> issuers)
    {
        _byIssuer = issuers.ToFrozenDictionary(i => i.Config.Issuer, StringComparer.Ordinal);
    }

    /// <summary>
    /// Validates <paramref name="token"/>. With <paramref name="audience"/>, the token must carry exactly that audience
    /// (a resource server's own identifier, as for the MCP endpoint) instead of one of its issuer's <c>audiences</c>, and
    /// its issuer must be one of <paramref name="issuers"/> when given. With <paramref name="scopes"/>, the result carries
    /// the token's OAuth scopes (read only then: a route that requires none pays nothing for them).
    /// </summary>
    public async ValueTask<JwtValidationResult> ValidateAsync(string token, string? audience = null, IReadOnlyCollection<string>? issuers = null, bool scopes = false)
    {
        if (token.Length is 0 or > MaxTokenLength || !_handler.CanReadToken(token))
        {
            return JwtValidationResult.Fail(JwtFailure.Malformed);
        }

        JsonWebToken jwt;
        try
        {
            jwt = new JsonWebToken(token);
        }
        catch (Exception e) when (e is ArgumentException or SecurityTokenMalformedException)
        {
            return JwtValidationResult.Fail(JwtFailure.Malformed);
        }

        if (jwt.IsEncrypted)
        {
            return JwtValidationResult.Fail(JwtFailure.Malformed);
        }

        if (!jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Iss, out var iss) || iss is null || !_byIssuer.TryGetValue(iss, out var issuer)
            || (issuers is not null && !issuers.Contains(iss)))
        {
            return JwtValidationResult.Fail(JwtFailure.WrongIssuer);
        }

        // Checked before any key lookup: 'none' and 'HS256 keyed with the public key' die here, never reaching crypto.
        if (string.IsNullOrEmpty(jwt.Alg) || !issuer.Algorithms.Contains(jwt.Alg))
        {
            return JwtValidationResult.Fail(JwtFailure.AlgorithmNotAllowed, issuer.Name);
        }

        var keys = issuer.Keys.Current;
        if (string.IsNullOrEmpty(jwt.Kid))
        {
            return JwtValidationResult.Fail(JwtFailure.UnknownKey, issuer.Name);
        }

        if (!keys.ByKid.ContainsKey(jwt.Kid))
        {
            // Perhaps the issuer rotated keys since the last refresh. Rate-limited inside the cache.
            keys = await issuer.Keys.RefreshForUnknownKeyAsync().ConfigureAwait(false);
            if (!keys.ByKid.ContainsKey(jwt.Kid))
            {
                return JwtValidationResult.Fail(JwtFailure.UnknownKey, issuer.Name);
            }
        }

        var parameters = issuer.ParametersFor(keys);
        if (audience is not null)
        {
            // The cached parameters are shared by concurrent validations: a copy for this audience.
            parameters = parameters.Clone();
            parameters.ValidAudiences = [audience];
        }

        var result = await _handler.ValidateTokenAsync(jwt, parameters).ConfigureAwait(false);
        if (!result.IsValid)
        {
            return JwtValidationResult.Fail(Classify(result.Exception), issuer.Name);
        }

        foreach (var claim in issuer.ApplicationClaims)
        {
            if (jwt.TryGetPayloadValue<object>(claim, out var value))
            {
                return value is string { Length: > 0 } application
                    ? JwtValidationResult.Success(issuer.Name, application, Subject(jwt), new DateTimeOffset(jwt.ValidTo, TimeSpan.Zero), scopes ? Scopes(jwt) : null)
                    : JwtValidationResult.Fail(JwtFailure.NoApplicationClaim, issuer.Name);
            }
        }

        return JwtValidationResult.Fail(JwtFailure.NoApplicationClaim, issuer.Name);
    }

    private static string? Subject(JsonWebToken jwt) =>
        jwt.TryGetPayloadValue<string>(JwtRegisteredClaimNames.Sub, out var sub) ? sub : null;

    /// <summary>
    /// The token's scopes, space-separated: RFC 8693 §4.2's <c>scope</c> string (RFC 9068 access tokens), else the <c>scp</c>
    /// claim that Azure AD, Okta and others send as a list or as a space-separated string. Null when it has neither.
    /// </summary>
    internal static string? Scopes(JsonWebToken jwt)
    {
        if (jwt.TryGetPayloadValue<string>("scope", out var scope))
        {
            return scope;
        }

        // The token's claims list a JSON array's strings one by one, and a string once.
        var scp = jwt.Claims.Where(c => c.Type == "scp").Select(c => c.Value).ToList();
        return scp.Count == 0 ? null : string.Join(' ', scp);
    }

    // Most specific first: several of these derive from one another.
    private static JwtFailure Classify(Exception? e) => e switch
    {
        SecurityTokenExpiredException => JwtFailure.Expired,
        SecurityTokenNotYetValidException => JwtFailure.NotYetValid,
        SecurityTokenNoExpirationException => JwtFailure.Malformed,
        SecurityTokenInvalidIssuerException => JwtFailure.WrongIssuer,
        SecurityTokenInvalidAudienceException => JwtFailure.WrongAudience,
        SecurityTokenInvalidAlgorithmException => JwtFailure.AlgorithmNotAllowed,
        SecurityTokenSignatureKeyNotFoundException => JwtFailure.UnknownKey,
        SecurityTokenInvalidSignatureException => JwtFailure.BadSignature,
        _ => JwtFailure.Malformed,
    };
}
