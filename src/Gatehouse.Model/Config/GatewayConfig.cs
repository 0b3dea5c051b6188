namespace Gatehouse.Model.Config;

/// <summary>Process-wide settings of the data plane.</summary>
public sealed record GatewayConfig
{
    /// <summary>
    /// Where the gateway accepts requests. Default: one plain listener on <c>http://127.0.0.1:8080</c>
    /// (the <c>--port</c> option of <c>gatehouse run</c> changes its port). Listeners are read at start;
    /// a reload that changes them is reported and takes effect on the next start.
    /// </summary>
    public IReadOnlyList<ListenerConfig> Listeners { get; init; } = [];

    /// <summary>
    /// Addresses or CIDR ranges of proxies in front of the gateway whose <c>X-Forwarded-*</c> headers are
    /// believed. From any other client those headers are replaced. Default: none.
    /// </summary>
    public IReadOnlyList<string> TrustedProxies { get; init; } = [];

    /// <summary>Largest request body accepted, in bytes (<c>10MB</c> style allowed). Default 30 MiB; larger bodies get 413. A reload applies it to new requests.</summary>
    public long MaxRequestBodySize { get; init; } = 30 * 1024 * 1024;

    /// <summary>
    /// Largest total size of request headers, in bytes. Default 32 KiB; larger header blocks get 431. Read at
    /// start; a reload that changes it is reported and takes effect on the next start.
    /// </summary>
    public int MaxRequestHeadersSize { get; init; } = 32 * 1024;

    /// <summary>
    /// Forward client headers whose names contain <c>_</c>. Default false: they are dropped, as nginx does, because
    /// CGI-style servers (WSGI, PHP, Rack) read <c>_</c> and <c>-</c> alike, so <c>Gatehouse_Plan</c> would pass for the
    /// gateway's own <c>Gatehouse-Plan</c>. When true, a name is still dropped when, read with <c>_</c> as <c>-</c>, it is
    /// one the gateway sets or strips.
    /// </summary>
    public bool ForwardUnderscoreHeaders { get; init; }

    /// <summary>How long a stopping gateway waits for in-flight requests. Default 10s.</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Where clients put their API key (header, query parameter).</summary>
    public ApiKeysConfig ApiKeys { get; init; } = new();

    /// <summary>Trusted JWT issuers. Default: none.</summary>
    public JwtConfig Jwt { get; init; } = new();

    /// <summary>
    /// <c>enforce</c> answers a missing or invalid credential with 401; <c>shadow</c> counts and logs it, and lets the
    /// request through without an application (to switch authentication on for live traffic). Default <c>enforce</c>.
    /// </summary>
    public EnforcementMode AuthenticationMode { get; init; } = EnforcementMode.Enforce;

    /// <summary>The authorize/report API for services not behind the proxy. Default: off.</summary>
    public ServiceApiConfig? ServiceApi { get; init; }

    /// <summary>Usage analytics, metrics, the access log and tracing (docs/observability.md). Default: usage and metrics on, the rest off.</summary>
    public ObservabilityConfig Observability { get; init; } = new();
}
