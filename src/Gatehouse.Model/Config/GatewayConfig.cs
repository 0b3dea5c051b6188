using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>Process-wide settings of the data plane.</summary>
public sealed record GatewayConfig
{
    /// <summary>
    /// Where the gateway accepts requests. Read at start: a reload that changes them is reported and takes effect on
    /// restart. The <c>--port</c> option of <c>gatehouse run</c> changes the first one's port.
    /// </summary>
    [DefaultText("one listener on `http://127.0.0.1:8080`")]
    public IReadOnlyList<ListenerConfig> Listeners { get; init; } = [];

    /// <summary>
    /// Addresses or CIDR ranges of proxies in front of the gateway whose <c>X-Forwarded-*</c> and <c>Forwarded</c>
    /// headers are believed and extended; from any other client they are replaced. The client address (limits, IP
    /// filters, the access log's <c>client</c>) is the first address in <c>X-Forwarded-For</c>, read from the right, that
    /// is not a trusted proxy; the portal and the console believe the same proxies.
    /// </summary>
    [DocType("list of IPs / CIDRs")]
    public IReadOnlyList<string> TrustedProxies { get; init; } = [];

    /// <summary>Largest request body accepted, unless a route sets its own (<c>routes.ID.maxRequestBodySize</c>); larger bodies get 413. A reload applies it to new requests.</summary>
    [Size]
    public long MaxRequestBodySize { get; init; } = 30 * 1024 * 1024;

    /// <summary>
    /// Largest header block accepted; larger ones get 431. Read at start: a reload that changes it takes effect on
    /// restart.
    /// </summary>
    [Size]
    public int MaxRequestHeadersSize { get; init; } = 32 * 1024;

    /// <summary>
    /// How long a stopping gateway, or a retired upstream after a reload, waits for in-flight requests. A reload
    /// that changes it applies to the next shutdown too.
    /// </summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// On SIGTERM (or <c>POST /admin/drain</c>), how long the gateway keeps accepting new connections after readiness
    /// turned 503, so that load balancers notice before its listeners close; <c>drainTimeout</c> follows it.
    /// </summary>
    [ZeroAllowed]
    public TimeSpan DrainDelay { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// A path on the public listeners that answers 200 while the gateway is ready and 503 once it drains, for load
    /// balancers that cannot reach the admin listener's <c>/ready</c>. It takes precedence over routes.
    /// </summary>
    [NonEmpty]
    [DefaultText("none")]
    public string? HealthPath { get; init; }

    /// <summary>Where clients put their API key.</summary>
    public ApiKeysConfig ApiKeys { get; init; } = new();

    /// <summary>Trusted issuers of JWT bearer tokens.</summary>
    public JwtConfig Jwt { get; init; } = new();

    /// <summary>OAuth2 token introspection for opaque bearer tokens (see access.md).</summary>
    [DefaultText("off")]
    public IntrospectionConfig? Introspection { get; init; }

    /// <summary>
    /// <c>enforce</c> answers a missing or invalid credential with 401; <c>shadow</c> lets such requests through
    /// without an application, counted in the <c>gatehouse.access.shadow_refusals</c> metric and logged at Debug (to
    /// switch authentication on for live traffic).
    /// </summary>
    public EnforcementMode AuthenticationMode { get; init; } = EnforcementMode.Enforce;

    /// <summary>
    /// The authorize/report API for services not behind the proxy, on a listener of its own (see service-api.md).
    /// </summary>
    [DefaultText("off")]
    public ServiceApiConfig? ServiceApi { get; init; }

    /// <summary>
    /// Forward client headers whose names contain <c>_</c>. By default they are dropped, as nginx does: WSGI, PHP and
    /// Rack read <c>_</c> and <c>-</c> alike, so <c>Gatehouse_Plan</c> would pass for <c>Gatehouse-Plan</c>. Even when
    /// true, a name that reads (with <c>_</c> as <c>-</c>) as one the gateway sets or strips is dropped.
    /// </summary>
    public bool ForwardUnderscoreHeaders { get; init; }

    /// <summary>
    /// Serves each plan as an MCP tool list at <c>/mcp</c> (Streamable HTTP, docs/ai.md): <c>tools/list</c> gives the
    /// operations the caller's plan grants, <c>tools/call</c> runs one through the same access steps as the proxy.
    /// Callers authenticate with their application's API key.
    /// </summary>
    public bool Mcp { get; init; }

    /// <summary>
    /// Bearer tokens for <c>/mcp</c> per the MCP authorization spec: protected-resource metadata (RFC 9728) and JWTs
    /// whose audience is the endpoint (docs/ai.md). Without it, <c>/mcp</c> takes API keys only.
    /// </summary>
    [DefaultText("off")]
    public McpAuthorizationConfig? McpAuthorization { get; init; }

    /// <summary>Usage analytics, metrics, the access log and tracing (docs/observability.md).</summary>
    public ObservabilityConfig Observability { get; init; } = new();

    /// <summary>The counter engine that limits with <c>scope: cluster</c> share across nodes (docs/limits.md).</summary>
    public ClusterLimitsConfig Limits { get; init; } = new();

    /// <summary>Where routes with a <c>cache</c> policy keep responses (in memory, bounded).</summary>
    public ResponseCacheConfig Cache { get; init; } = new();

    /// <summary>
    /// The developer portal's origin (<c>scheme://host[:port]</c>), which a route's <c>cors: { portal: true }</c> allows.
    /// </summary>
    [DocType("origin")]
    [DefaultText("none")]
    public string? PortalOrigin { get; init; }
}
