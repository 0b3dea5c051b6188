using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>A public method + path (+ host) that the gateway serves, bound to a service or to one of its operations.</summary>
[BindingRules(typeof(Loading.RouteRules))]
public sealed record RouteConfig
{
    /// <summary>
    /// HTTP methods served, e.g. <c>[GET, HEAD]</c>; a route that serves GET also serves HEAD. Not with
    /// <c>operation</c>.
    /// </summary>
    [OneOrMany]
    [DocType("HTTP method, or a list")]
    [DefaultText("every method")]
    public IReadOnlyList<string> Methods { get; init; } = [];

    /// <summary>
    /// The public path template: <c>/users/{id}</c>, <c>/files/{**rest}</c> (a catch-all, last segment only). Literal
    /// segments match case-insensitively; empty segments (<c>//</c>) and a trailing slash are ignored when matching (a
    /// trailing slash is still sent upstream). At most 8 parameters. With <c>operation</c>, it must have the operation
    /// path's parameters.
    /// </summary>
    [NonEmpty]
    [DocType("template")]
    [DefaultText("required (the operation's path with `operation`)")]
    public string? Path { get; init; }

    /// <summary>
    /// Only requests for this host: <c>api.example.com</c> or <c>*.example.com</c>; host routes are tried before
    /// host-less ones.
    /// </summary>
    [DefaultText("any host")]
    public string? Host { get; init; }

    /// <summary>The service in <c>services</c> that serves the route.</summary>
    [NonEmpty]
    [DocType("name")]
    [DefaultText("required, or `operation`")]
    public string? Service { get; init; }

    /// <summary>
    /// Instead of <c>service</c>: the route serves this operation, and takes its service, method and upstream path from
    /// it.
    /// </summary>
    [NonEmpty]
    [DocType("operation id")]
    public string? Operation { get; init; }

    /// <summary>
    /// The path sent upstream, using the route's parameters. Parameter values are percent-encoded, so a value can never
    /// add a path segment. Not with <c>operation</c>.
    /// </summary>
    [DocType("template")]
    [DefaultText("the route's `path`")]
    public string? UpstreamPath { get; init; }

    /// <summary>
    /// Only requests that also carry these headers and query parameters, each with exactly the value written (values
    /// are case-sensitive, header names are not): <c>{ headers: { X-Api-Version: "2" } }</c>. Routes of one path, host
    /// and methods may differ only in this; those with conditions are tried first, in the order written, and one
    /// without serves the rest. A CORS preflight, which names the headers its request will send but not their values,
    /// is answered by the first route whose header conditions it names.
    /// </summary>
    [DefaultText("every request of the path")]
    public RouteMatchConfig? Match { get; init; }

    /// <summary>
    /// Overrides the service's <c>timeout</c> for this route. It is the request's deadline: every attempt and
    /// back-off of <c>retry</c> fall within it.
    /// </summary>
    [DefaultText("the service's `timeout`")]
    public TimeSpan? Timeout { get; init; }

    /// <summary>
    /// Largest request body this route accepts, more or less than <c>gateway.maxRequestBodySize</c> (an upload route may
    /// take more, a JSON API less); a larger body gets 413 <c>body-too-large</c> naming the limit, before anything is
    /// sent to the service when its length is declared, as soon as it passes the limit when it is streamed.
    /// </summary>
    [Size]
    [DefaultText("`gateway.maxRequestBodySize`")]
    public long? MaxRequestBodySize { get; init; }

    /// <summary>Retries for this route, replacing the service's <c>retry</c> (<c>retry: {attempts: 1}</c> turns them off).</summary>
    [DefaultText("the service's `retry`")]
    public RetryConfig? Retry { get; init; }

    /// <summary>Copies of the route's requests sent to another service, whose answers are dropped (below).</summary>
    [DefaultText("off")]
    public MirrorConfig? Mirror { get; init; }

    /// <summary>Fault injection for testing; off unless written.</summary>
    [DefaultText("off")]
    public FaultsConfig? Faults { get; init; }

    /// <summary>
    /// Also accept the API key in the query parameter <c>gateway.apiKeys.queryParameter</c>; it is removed from the
    /// query sent upstream (a key in a URL ends up in logs, so this is opt-in).
    /// </summary>
    public bool ApiKeyInQuery { get; init; }

    /// <summary>
    /// Send the client's API key header or <c>Authorization</c> to the service. By default they are removed, and the
    /// service gets <c>Gatehouse-Application</c> and <c>Gatehouse-Plan</c> instead.
    /// </summary>
    public bool ForwardCredential { get; init; }

    /// <summary>
    /// OAuth scopes a bearer token must carry, every one of them, to call this route: the JWT's <c>scope</c> (space-separated)
    /// or <c>scp</c> (a list or a string), or the introspection answer's <c>scope</c>. Added to the bound operation's own
    /// <c>requireScopes</c>. A token without one of them gets 403 <c>insufficient-scope</c>; a route that requires scopes
    /// takes bearer tokens only, so an API key, a Basic password or a client certificate is refused the same way. Needs
    /// plans, and <c>gateway.jwt</c> issuers or <c>gateway.introspection</c>.
    /// </summary>
    [DocType("list of scopes")]
    [DefaultText("`[]` (none)")]
    public IReadOnlyList<string> RequireScopes { get; init; } = [];

    /// <summary>
    /// Protocols a client may upgrade to on this route (HTTP/1.1 <c>Upgrade</c>, HTTP/2 extended CONNECT), whole tokens
    /// in any case; each is a tunnel the gateway no longer inspects after the switch. Another protocol's <c>Upgrade</c>
    /// is forwarded as an ordinary request without it (an extended CONNECT gets 501). <c>h2c</c> is refused; <c>[]</c>
    /// allows none.
    /// </summary>
    [DocType("list of protocol tokens")]
    [DefaultText("`[websocket]`")]
    public IReadOnlyList<string>? Upgrades { get; init; }

    /// <summary>
    /// CORS, IP filter, request validation, response caching and transforms of this route (see policies.md); each one
    /// written here replaces the service's default of that policy.
    /// </summary>
    [DefaultText("the service's `policies`")]
    public PoliciesConfig? Policies { get; init; }
}

/// <summary>What a request must carry, beside its path, host and method, for a route to take it.</summary>
public sealed record RouteMatchConfig
{
    /// <summary>Headers the request must have, each with this exact value (one of its values, when it is sent more than once).</summary>
    [DocType("mapping of header name to value")]
    public IReadOnlyDictionary<string, string> Headers { get; init; } = new Dictionary<string, string>();

    /// <summary>Query parameters the request must have, each with this exact value (after percent-decoding).</summary>
    [DocType("mapping of parameter name to value")]
    public IReadOnlyDictionary<string, string> Query { get; init; } = new Dictionary<string, string>();
}
