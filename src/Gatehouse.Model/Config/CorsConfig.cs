using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// CORS for a route: the gateway answers preflights itself and adds the <c>Access-Control-*</c> headers to the
/// actual responses (any the service sent are replaced). An origin is never reflected unless it is allowed here or
/// by the caller's plan.
/// </summary>
public sealed record CorsConfig
{
    /// <summary>Whether the policy applies; <c>false</c> switches a service's default off on one route.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// Allowed origins: exact (<c>https://app.example.com</c>, <c>http://127.0.0.1:8083</c>), a subdomain pattern
    /// (<c>https://*.example.com</c>: one or more labels before <c>.example.com</c>, never the bare domain), or
    /// <c>*</c> (any origin, not with <c>credentials</c>). <c>null</c> is never allowed.
    /// </summary>
    [DocType("list of origins")]
    public IReadOnlyList<string> Origins { get; init; } = [];

    /// <summary>Also allow the developer portal's origin, <c>gateway.portalOrigin</c>.</summary>
    public bool Portal { get; init; }

    /// <summary>Methods a preflight may ask for.</summary>
    [DefaultText("the route's methods")]
    public IReadOnlyList<string> Methods { get; init; } = [];

    /// <summary>Request headers a preflight may ask for (case-insensitive); the others are refused, never reflected.</summary>
    [DefaultText("`Content-Type`, `Authorization` and the API key header")]
    public IReadOnlyList<string>? Headers { get; init; }

    /// <summary>Response headers scripts may read beyond the CORS-safelisted ones.</summary>
    [DefaultText("`X-Request-Id`, `RateLimit`, `RateLimit-Policy`, `Retry-After`, `Gatehouse-Cache`")]
    public IReadOnlyList<string>? ExposeHeaders { get; init; }

    /// <summary>Allow credentials (cookies, <c>Authorization</c>): <c>Access-Control-Allow-Credentials: true</c>. Not with origin <c>*</c>.</summary>
    public bool Credentials { get; init; }

    /// <summary>How long a browser may reuse a preflight's answer (<c>Access-Control-Max-Age</c>).</summary>
    [ZeroAllowed]
    public TimeSpan MaxAge { get; init; } = TimeSpan.FromMinutes(10);
}
