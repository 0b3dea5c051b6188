using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// A trusted issuer of JSON Web Tokens: whose tokens are accepted, for which audiences, signed with which
/// algorithms and keys, and which claim names the application that presented the token.
/// </summary>
public sealed record JwtIssuerConfig
{
    /// <summary>The signing algorithms a JWKS may be used with. Symmetric (HS*) and <c>none</c> are never accepted.</summary>
    public static readonly IReadOnlyList<string> SupportedAlgorithms = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"];

    /// <summary>Largest <see cref="ClockSkew"/> accepted: more would let expired tokens live on noticeably.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(5);

    /// <summary>Smallest <see cref="JwksRefresh"/> accepted, so a gateway never polls an identity provider in a tight loop.</summary>
    public static readonly TimeSpan MinJwksRefresh = TimeSpan.FromSeconds(30);

    /// <summary>The exact <c>iss</c> claim of this issuer's tokens, e.g. <c>https://login.example.com/</c>. Required.</summary>
    [RequiredKey]
    public required string Issuer { get; init; }

    /// <summary>Accepted <c>aud</c> values; a token must name at least one. Required, at least one.</summary>
    [OneOrMany]
    public IReadOnlyList<string> Audiences { get; init; } = [];

    /// <summary>A JSON Web Key Set file with the issuer's public keys. Give this or <see cref="JwksUrl"/>, not both.</summary>
    [FilePath]
    public string? JwksFile { get; init; }

    /// <summary>Where the issuer publishes its JSON Web Key Set. Give this or <see cref="JwksFile"/>, not both.</summary>
    public string? JwksUrl { get; init; }

    /// <summary>Signing algorithms accepted (pinned), from <see cref="SupportedAlgorithms"/>. Required, at least one.</summary>
    [OneOrMany]
    public IReadOnlyList<string> Algorithms { get; init; } = [];

    /// <summary>Tolerance for clocks that disagree when checking <c>exp</c> and <c>nbf</c>. Default 30s, at most 5m.</summary>
    [ZeroAllowed]
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the key set is reloaded (a file is re-read, a URL re-fetched). Default 10m, at least 30s.</summary>
    public TimeSpan JwksRefresh { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The claim whose value is the application id. Default: <c>azp</c>, or <c>client_id</c> when a token has no
    /// <c>azp</c>. When set, only that claim is read.
    /// </summary>
    [NonEmpty]
    public string? ApplicationClaim { get; init; }
}
