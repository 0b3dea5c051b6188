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

    /// <summary>The exact <c>iss</c> of the issuer's tokens, e.g. <c>https://login.example.com/</c>.</summary>
    [RequiredKey]
    public required string Issuer { get; init; }

    /// <summary>Accepted <c>aud</c> values; a token must carry one of them. At least one.</summary>
    [OneOrMany]
    [DefaultText("required")]
    public IReadOnlyList<string> Audiences { get; init; } = [];

    /// <summary>
    /// A JSON Web Key Set file with the issuer's public keys, re-read every <c>jwksRefresh</c>. Give <c>jwksFile</c> or
    /// <c>jwksUrl</c>, not both.
    /// </summary>
    [FilePath]
    public string? JwksFile { get; init; }

    /// <summary>
    /// Where the issuer publishes its key set (<c>…/.well-known/jwks.json</c>); fetched at start and every
    /// <c>jwksRefresh</c> (5s limit, 1MB cap), never per request. When a fetch fails the last good keys stay in use. A
    /// token signed with a key id the set does not have triggers one early refresh, at most every 30s.
    /// </summary>
    [DocType("URL")]
    public string? JwksUrl { get; init; }

    /// <summary>
    /// The signing algorithms accepted (pinned): <c>RS256</c>, <c>RS384</c>, <c>RS512</c>, <c>PS256</c>, <c>PS384</c>,
    /// <c>PS512</c>, <c>ES256</c>, <c>ES384</c>, <c>ES512</c>. <c>HS*</c> and <c>none</c> are refused. At least one.
    /// </summary>
    [OneOrMany]
    [DefaultText("required")]
    public IReadOnlyList<string> Algorithms { get; init; } = [];

    /// <summary>Tolerance when checking <c>exp</c> and <c>nbf</c>; <c>0s</c> to <c>5m</c>.</summary>
    [ZeroAllowed]
    public TimeSpan ClockSkew { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often the key set is reloaded; at least <c>30s</c>.</summary>
    public TimeSpan JwksRefresh { get; init; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// The claim whose value is the calling application's id; a token without it is refused. When set, only that claim
    /// is read.
    /// </summary>
    [NonEmpty]
    [DocType("claim name")]
    [DefaultText("`azp`, then `client_id`")]
    public string? ApplicationClaim { get; init; }
}
