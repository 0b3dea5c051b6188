namespace Gatehouse.Gateway.Authentication;

/// <summary>Why a bearer token was refused. Every one becomes 401 <c>invalid_token</c>; the code is for logs and metrics.</summary>
internal enum JwtFailure
{
    /// <summary>Not a compact JWS with a JSON header and payload (also: encrypted tokens, a missing <c>exp</c>).</summary>
    Malformed,

    /// <summary>The <c>alg</c> is not one of the issuer's pinned algorithms (this covers <c>none</c> and <c>HS*</c>).</summary>
    AlgorithmNotAllowed,

    /// <summary>The <c>iss</c> is not a configured issuer.</summary>
    WrongIssuer,

    /// <summary>No key with the token's <c>kid</c> is in the issuer's key set, even after an early refresh.</summary>
    UnknownKey,

    /// <summary>The signature does not verify with the key the token names.</summary>
    BadSignature,

    /// <summary><c>exp</c> is in the past by more than the clock skew.</summary>
    Expired,

    /// <summary><c>nbf</c> is in the future by more than the clock skew.</summary>
    NotYetValid,

    /// <summary>The <c>aud</c> names none of the issuer's audiences.</summary>
    WrongAudience,

    /// <summary>The claim that names the application is missing or not a string.</summary>
    NoApplicationClaim,
}
