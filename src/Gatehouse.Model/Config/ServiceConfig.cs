using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>A backend API: where it runs, how to reach it, and its operations.</summary>
[BindingRules(typeof(Loading.ServiceRules))]
public sealed record ServiceConfig
{
    /// <summary>
    /// <c>http</c>: an HTTP API whose requests are forwarded to <c>targets</c>. <c>ai</c>: model providers behind one
    /// OpenAI-compatible API, described under <c>ai</c> (docs/ai.md); such a service has no <c>targets</c>,
    /// <c>openapi</c>, <c>operations</c>, <c>publish</c> or <c>registration</c>.
    /// </summary>
    public ServiceKind Kind { get; init; } = ServiceKind.Http;

    /// <summary>The providers and model aliases of a service of <c>kind: ai</c>; required there, and only there.</summary>
    public AiServiceConfig? Ai { get; init; }

    /// <summary>
    /// Instances: <c>http(s)://HOST:PORT[/base]</c>, or <c>{url, weight}</c>. At least one, unless <c>registration</c>
    /// is set. A HOST that is a DNS name is re-resolved every <c>dnsRefresh</c>, and every address it resolves to
    /// becomes a destination.
    /// </summary>
    public IReadOnlyList<TargetConfig> Targets { get; init; } = [];

    /// <summary>How a request picks a destination.</summary>
    public LoadBalancingPolicy LoadBalancing { get; init; } = LoadBalancingPolicy.RoundRobin;

    /// <summary>
    /// With <c>loadBalancing: hash</c>: what of the request is hashed to pick its destination, so that requests with the
    /// same value go to the same destination while it is available, on every node.
    /// </summary>
    [DefaultText("the client's address (`on: clientIp`)")]
    public HashConfig? Hash { get; init; }

    /// <summary>
    /// From sending the request until the response headers arrive; past it the client gets 504. A streamed request
    /// body's upload does not count: while it moves the time starts again (to within a quarter of it, at most a second), so it runs from the
    /// body's end.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>To open a connection; past it the client gets 502.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// HTTP version to the upstream; <c>http2</c> over <c>http://</c> is h2c with prior knowledge, over <c>https://</c>
    /// negotiated by ALPN.
    /// </summary>
    public UpstreamProtocol Protocol { get; init; } = UpstreamProtocol.Http1;

    /// <summary>TLS to this service's <c>https</c> targets. Server certificates are always verified.</summary>
    public UpstreamTlsConfig? Tls { get; init; }

    /// <summary>Active probes and passive ejection of destinations.</summary>
    public HealthCheckConfig? HealthCheck { get; init; }

    /// <summary>Retries of failed requests; a route's own <c>retry</c> replaces it for that route.</summary>
    [DefaultText("off")]
    public RetryConfig? Retry { get; init; }

    /// <summary>How many retries the service takes from all of its routes together.</summary>
    [DefaultText("20% of requests in flight (at least 3), and 20% of requests over 10s plus 10/s")]
    public RetryBudgetConfig RetryBudget { get; init; } = new();

    /// <summary>Ejection of failing destinations, with growing ejection times, half-open probes and panic mode.</summary>
    [DefaultText("off (`healthCheck.passive` if set)")]
    public OutlierDetectionConfig? OutlierDetection { get; init; }

    /// <summary>Caps on requests in flight to the service from this node.</summary>
    [DefaultText("unlimited")]
    public ConcurrencyConfig? Concurrency { get; init; }

    /// <summary>
    /// A header that tells the upstream how many milliseconds are left of the request's deadline, e.g.
    /// <c>Gatehouse-Deadline-Ms</c>; set on every attempt, and on composition steps' calls.
    /// </summary>
    [NonEmpty]
    [DefaultText("not sent")]
    public string? DeadlineHeader { get; init; }

    /// <summary>How often targets given by DNS name are re-resolved.</summary>
    public TimeSpan DnsRefresh { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// DNS servers (<c>IP</c> or <c>IP:PORT</c>) that answer for this service's target names, SRV and address lookups
    /// alike, such as Consul's agent (<c>127.0.0.1:8600</c>), tried in order.
    /// </summary>
    [DocType("list of IP[:port]")]
    [DefaultText("the machine's resolvers (/etc/resolv.conf; /etc/hosts too for address lookups)")]
    public IReadOnlyList<string> DnsServers { get; init; } = [];

    /// <summary>Connection cap per destination.</summary>
    [Minimum(1)]
    [DefaultText("unlimited")]
    public int? MaxConnectionsPerTarget { get; init; }

    /// <summary>
    /// The service's OpenAPI document (3.0 or 3.1, JSON or YAML), whose operations are imported; give <c>file</c> or
    /// <c>url</c>, not both.
    /// </summary>
    [BoundByRules]
    public OpenApiConfig? Openapi { get; init; }

    /// <summary>
    /// Operations declared in the config by id, added to the imported ones; an id the document also has overrides the
    /// fields written here. Ids are global: no two services may define one (see below).
    /// </summary>
    [BoundByRules]
    public IReadOnlyDictionary<string, OperationConfig> Operations { get; init; } = new Dictionary<string, OperationConfig>();

    /// <summary>
    /// Publishes every operation of the service as a route: path = <c>basePath</c> + the operation's path, route id =
    /// the operation id. Without it, operations (imported or declared) serve nothing by themselves: requests reach them
    /// only through routes written under <c>routes</c>, and <c>gatehouse validate</c> notes a service no route serves.
    /// </summary>
    [BoundByRules]
    public PublishConfig? Publish { get; init; }

    /// <summary>
    /// Lets instances register themselves as targets through the admin API (<c>PUT
    /// /admin/services/NAME/registrations</c>, see admin-api.md) and renew them with heartbeats; without it
    /// registrations are refused (403). Registered targets are destinations with weight 1, under the same health checks
    /// and load balancing as <c>targets</c>.
    /// </summary>
    public RegistrationConfig? Registration { get; init; }

    /// <summary>
    /// The gateway's own credential for this service: a header added to every call the gateway makes to it, proxied or
    /// composed (active health probes too), in place of any header of that name from the client or a composition step.
    /// </summary>
    public ServiceCredentialConfig? Credential { get; init; }

    /// <summary>Default policies of every route to this service (see policies.md); a route's own policy of a kind replaces its default.</summary>
    public PoliciesConfig? Policies { get; init; }
}

/// <summary>One upstream instance.</summary>
[Shorthand(nameof(Url))]
public sealed record TargetConfig
{
    /// <summary><c>http(s)://HOST:PORT[/base]</c>.</summary>
    [RequiredKey]
    public required string Url { get; init; }

    /// <summary>Relative share of traffic, for round robin and hash.</summary>
    [Minimum(1)]
    public int Weight { get; init; } = 1;

    /// <summary>
    /// The URL's host is a DNS SRV name (<c>http://_orders._tcp.service.consul</c>, a Kubernetes headless service's
    /// <c>_http._tcp.orders.shop.svc.cluster.local</c>): each record of its lowest priority is a destination at the
    /// record's host and port, weighted by the record's weight, looked up again every <c>dnsRefresh</c>. The URL has no
    /// port of its own; its scheme and base path apply to every record.
    /// </summary>
    public bool Srv { get; init; }
}

/// <summary>Load-balancing policies.</summary>
public enum LoadBalancingPolicy
{
    /// <summary>Each target in turn.</summary>
    RoundRobin,
    /// <summary>The target with the fewest requests in flight.</summary>
    LeastRequests,
    /// <summary>Two targets at random; the one with fewer requests in flight.</summary>
    PowerOfTwoChoices,
    /// <summary>
    /// The same target for the same value of <c>hash</c> (a client, a header, a cookie…) while it is available:
    /// weighted rendezvous hashing, so a target that goes away moves only its own share.
    /// </summary>
    Hash,
}

/// <summary>HTTP version spoken to upstream targets.</summary>
public enum UpstreamProtocol
{
    /// <summary>HTTP/1.1.</summary>
    Http1,
    /// <summary>HTTP/2 (h2c with prior knowledge for http targets).</summary>
    Http2,
}

/// <summary>Upstream TLS settings.</summary>
public sealed record UpstreamTlsConfig
{
    /// <summary>PEM CA bundle trusted for this service's <c>https</c> targets instead of the system store.</summary>
    [FilePath]
    [DefaultText("system store")]
    public string? CaFile { get; init; }

    /// <summary>
    /// Client certificate and key for mutual TLS. This and <c>caFile</c> are read again when they change (looked at
    /// every 10 s): the service's new connections use the renewed files, without a reload; files that do not load leave
    /// the ones in use, with a warning.
    /// </summary>
    public CertificateConfig? ClientCertificate { get; init; }
}
