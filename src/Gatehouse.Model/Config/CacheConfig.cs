using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Caches the route's GET and HEAD responses. The key holds the method, host, path, the query, the headers listed in
/// <c>headers</c>, and the caller's application (or plan) unless the route is <c>shared</c>. A hit still passes
/// authentication, plans and limits. Callers the key cannot tell apart never share an answer the service may have
/// made from their <c>Cookie</c> or <c>Authorization</c> (see <c>shared</c> and <c>per</c>). Answers carry <c>Gatehouse-Cache: hit|miss|stale|bypass</c> and, from the
/// cache, <c>Age</c>.
/// </summary>
public sealed record CacheConfig
{
    /// <summary>Whether the cache applies; <c>false</c> switches a service's default off on one route.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// How long a response stays fresh. A service's <c>Cache-Control: s-maxage</c> or <c>max-age</c> (else its
    /// <c>Expires</c> less <c>Date</c>) shortens it, and its <c>Age</c> counts; <c>no-store</c>, <c>no-cache</c>,
    /// <c>private</c>, <c>Set-Cookie</c> and <c>Vary: *</c> keep a response out, except that <c>no-cache="..."</c> and
    /// <c>private="..."</c> keep it without the fields they name (see the directive table in docs/policies.md).
    /// </summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// One cached answer for every caller. Only for responses that do not depend on who asked; otherwise each
    /// application (or plan, see <c>per</c>) has its own. A request that carries a <c>Cookie</c>, or an
    /// <c>Authorization</c> header the service is sent (not one the gateway took as the caller's credential and removed),
    /// is served and kept only answers the service marked for shared caches (<c>Cache-Control: public</c>, <c>s-maxage</c> or <c>must-revalidate</c>; RFC 9111 §3.5).
    /// </summary>
    public bool Shared { get; init; }

    /// <summary>
    /// Whose answers are kept apart when the route is not <c>shared</c>. A request whose key does not name its
    /// application (an anonymous caller; any caller, with <c>plan</c>) and that carries a <c>Cookie</c>, or an
    /// <c>Authorization</c> header the service is sent, is not cached (<c>bypass</c>): the service may answer each such
    /// caller differently.
    /// </summary>
    public CacheScope Per { get; init; } = CacheScope.Application;

    /// <summary>
    /// The query parameters in the key (by name, every value in order). A request with any other parameter is not
    /// cached (<c>bypass</c>), so an unkeyed parameter cannot change what others are served.
    /// </summary>
    [DefaultText("the whole query, as sent")]
    public IReadOnlyList<string>? Query { get; init; }

    /// <summary>
    /// Request headers in the key (by name, case-insensitive), beyond those the service names in <c>Vary</c>. Listing
    /// <c>Cookie</c> or <c>Authorization</c> keeps each value's answers apart, so requests with them are cached.
    /// </summary>
    public IReadOnlyList<string> Headers { get; init; } = [];

    /// <summary>
    /// After a response goes stale, for this long: while one request fetches a fresh one, the others get the stale one
    /// (<c>Gatehouse-Cache: stale</c>). A service's <c>Cache-Control: stale-while-revalidate</c> replaces it for its
    /// answer; an answer with <c>must-revalidate</c>, <c>proxy-revalidate</c> or <c>s-maxage</c> is never served stale.
    /// </summary>
    [ZeroAllowed]
    public TimeSpan StaleWhileRevalidate { get; init; }

    /// <summary>
    /// After a response goes stale, for this long: served (<c>stale</c>) when the service fails (5xx, unreachable,
    /// timeout). A service's <c>Cache-Control: stale-if-error</c> replaces it for its answer; an answer with
    /// <c>must-revalidate</c>, <c>proxy-revalidate</c> or <c>s-maxage</c> is never served stale (the client gets the failure).
    /// </summary>
    [ZeroAllowed]
    public TimeSpan StaleIfError { get; init; }

    /// <summary>
    /// Whether a client's own request <c>Cache-Control</c> may pass over an answer the cache holds and go to the service:
    /// <c>no-cache</c> (or <c>Pragma: no-cache</c> without Cache-Control), <c>max-age=N</c> when the held answer is older
    /// than N seconds, <c>min-fresh=N</c> when it stays fresh for less than N more. The service's answer then replaces the
    /// held one, for every caller (<c>miss</c>). Off: RFC 9111 makes these a client's preferences, and honouring them lets
    /// any client send every request to the service. A request's <c>no-store</c> is always honoured (its answer is not
    /// kept); it sends nothing more to the service.
    /// </summary>
    public bool ClientCacheControl { get; init; }

    /// <summary>
    /// Requests that miss while another request of the same key is fetching it wait up to this long for that answer and
    /// are served it from the cache (<c>hit</c>), rather than each going to the service: a cold or purged entry of a busy
    /// route costs the service one request per node, not one per client. When the answer is not kept (or is slower),
    /// they go to the service themselves. <c>0s</c>: each miss goes to the service.
    /// </summary>
    [ZeroAllowed]
    [DefaultText("0s (off)")]
    public TimeSpan Collapse { get; init; }
}

/// <summary>Whose answers a non-shared cache keeps apart.</summary>
public enum CacheScope
{
    /// <summary>Each application its own (anonymous callers share one).</summary>
    Application,
    /// <summary>Each plan its own.</summary>
    Plan,
}

/// <summary>
/// Where cached responses are kept (<c>gateway.cache</c>): each node's memory, or Redis shared by every node when
/// <see cref="Redis"/> is set.
/// </summary>
public sealed record ResponseCacheConfig
{
    /// <summary>Largest total size of cached responses in memory; the least recently used go first.</summary>
    [Size]
    public long Size { get; init; } = 64 * 1024 * 1024;

    /// <summary>Largest single response cached; larger ones are passed on and not kept.</summary>
    [Size]
    public long MaxEntrySize { get; init; } = 1024 * 1024;

    /// <summary>
    /// Redis as the shared store: <c>redis://[:password@]host:port[/db]</c>, or a StackExchange.Redis configuration
    /// string, as in <c>gateway.limits.redis</c> (write <c>${REDIS_URL}</c> to keep the password in the environment).
    /// Every node then serves what any node kept, and a purge reaches them all. <c>size</c> is then Redis's own
    /// <c>maxmemory</c>, not the gateway's. While Redis is unreachable, requests are forwarded as misses.
    /// </summary>
    [NonEmpty]
    [DocType("URL")]
    [DefaultText("none (each node's memory)")]
    public string? Redis { get; init; }

    /// <summary>
    /// With <c>redis</c>: the longest a request waits for the cache's answer before it is forwarded as a miss.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(250);
}
