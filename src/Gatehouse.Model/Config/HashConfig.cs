using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// What <c>loadBalancing: hash</c> hashes: one value of the request. A request without it (no such header, cookie or
/// query parameter; no application) is spread by weighted round robin.
/// </summary>
[BindingRules(typeof(Loading.HashRules))]
public sealed record HashConfig
{
    /// <summary>Where the value comes from.</summary>
    public HashSource On { get; init; } = HashSource.ClientIp;

    /// <summary>The header, cookie or query parameter; for <c>on: header</c>, <c>cookie</c> and <c>query</c>, and only there.</summary>
    [NonEmpty]
    [DefaultText("none")]
    public string? Name { get; init; }
}

/// <summary>The part of a request that <c>loadBalancing: hash</c> hashes.</summary>
public enum HashSource
{
    /// <summary>The client's address (from a trusted proxy, the last one it added to <c>X-Forwarded-For</c>).</summary>
    ClientIp,
    /// <summary>A request header (its first value), named by <c>name</c>.</summary>
    Header,
    /// <summary>A cookie, named by <c>name</c>.</summary>
    Cookie,
    /// <summary>A query parameter (its first value), named by <c>name</c>.</summary>
    Query,
    /// <summary>The calling application (routes with access control).</summary>
    Application,
    /// <summary>The request's path, as the gateway matched it.</summary>
    Path,
}
