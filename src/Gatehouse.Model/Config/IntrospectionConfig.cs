using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// OAuth2 token introspection (RFC 7662) for opaque bearer tokens: the gateway asks the authorization server whether a
/// token is active and whose it is (its <c>client_id</c>, matched against applications' <c>clientIds</c>). Bearer
/// tokens that look like JWTs go to <c>gateway.jwt</c> when it has issuers. Answers are cached up to the token's
/// <c>exp</c>; while the endpoint is down, cached tokens still work and every other one is refused (401).
/// </summary>
public sealed record IntrospectionConfig
{
    /// <summary>The introspection endpoint, e.g. <c>https://auth.example.com/oauth2/introspect</c>.</summary>
    [RequiredKey("the introspection endpoint's URL")]
    [DocType("URL")]
    public required string Url { get; init; }

    /// <summary>How the gateway authenticates to the endpoint: a header and the environment variable that holds its value (e.g. <c>{ header: Authorization, prefix: "Basic ", env: INTROSPECTION_AUTH }</c>).</summary>
    public ServiceCredentialConfig? Credential { get; init; }

    /// <summary>When set, a token's <c>aud</c> must include it.</summary>
    public string? Audience { get; init; }

    /// <summary>
    /// When set, the answer's <c>iss</c> must be exactly this (RFC 7662 §2.2; a JWT <c>StringOrURI</c>, usually the
    /// authorization server's https URL, e.g. <c>https://auth.example.com/</c>, compared as written, trailing slash
    /// included); an answer without it, or with another, is refused like one for another audience.
    /// </summary>
    public string? Issuer { get; init; }

    /// <summary>How long one introspection call may take; past it the token is refused (unless cached).</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Most tokens kept in the cache.</summary>
    [Minimum(1)]
    public int CacheSize { get; init; } = 10_000;

    /// <summary>Longest a positive answer is cached, even when the token's <c>exp</c> is later.</summary>
    public TimeSpan MaxCacheTime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a token the endpoint called inactive (or whose answer does not fit: not yet valid, another audience or
    /// issuer, no known client) is refused without asking again; the default, <c>0ms</c>, asks every time, so that a token an
    /// authorization server of several nodes has not yet replicated is accepted as soon as it has. A token past its
    /// <c>exp</c> is refused without asking again whatever this is (it cannot become valid), for at most
    /// <c>maxCacheTime</c>; a failed call (the endpoint down, slow or answering an error) is never cached.
    /// </summary>
    public TimeSpan InactiveCacheTime { get; init; } = TimeSpan.Zero;
}
