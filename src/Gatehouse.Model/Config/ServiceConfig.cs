namespace Gatehouse.Model.Config;

/// <summary>A backend API: where it runs, how to reach it, and its operations.</summary>
public sealed record ServiceConfig
{
    /// <summary>
    /// Upstream instances. At least one, unless <see cref="Registration"/> is set (then instances may all register
    /// themselves). A target whose host is a DNS name is re-resolved every <see cref="DnsRefresh"/>.
    /// </summary>
    public IReadOnlyList<TargetConfig> Targets { get; init; } = [];

    /// <summary>How a request picks a target: <c>roundRobin</c> (default), <c>leastRequests</c> or <c>powerOfTwoChoices</c>.</summary>
    public LoadBalancingPolicy LoadBalancing { get; init; } = LoadBalancingPolicy.RoundRobin;

    /// <summary>Time allowed from sending the request until the upstream's response headers arrive. Default 30s; past it the client gets 504.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Time allowed to open a connection to a target. Default 5s; past it the client gets 502.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>HTTP version used to the upstream: <c>http1</c> (default), <c>http2</c> (h2c prior knowledge over http, ALPN over https).</summary>
    public UpstreamProtocol Protocol { get; init; } = UpstreamProtocol.Http1;

    /// <summary>TLS settings for <c>https</c> targets: a custom CA and a client certificate. Server certificates are always verified.</summary>
    public UpstreamTlsConfig? Tls { get; init; }

    /// <summary>Active and passive health checking. Default: neither; every target is always eligible.</summary>
    public HealthCheckConfig? HealthCheck { get; init; }

    /// <summary>How often targets given by DNS name are re-resolved. Default 30s.</summary>
    public TimeSpan DnsRefresh { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Upper bound on open connections to each target. Default: unlimited.</summary>
    public int? MaxConnectionsPerTarget { get; init; }

    /// <summary>The service's OpenAPI document, whose operations are imported. Default: none.</summary>
    /// <remarks>Spelt <c>Openapi</c>, not <c>OpenApi</c>, so that the key is <c>openapi</c> like the document's own field: keys are the camel-cased property names.</remarks>
    public OpenApiConfig? Openapi { get; init; }

    /// <summary>
    /// Operations by id. As written: declared operations, added to the imported ones (a declared id that the
    /// document also defines overrides the fields it sets). After loading: every operation of the service,
    /// imported and declared. Ids are global: no two services may define the same id.
    /// </summary>
    public IReadOnlyDictionary<string, OperationConfig> Operations { get; init; } = new Dictionary<string, OperationConfig>();

    /// <summary>
    /// Publishes every operation of the service as a route: path = <c>basePath</c> + the operation's path, route id =
    /// the operation id. Without it, operations (imported or declared) serve nothing by themselves: requests reach them
    /// only through routes written under <c>routes</c>, and <c>gatehouse validate</c> notes a service no route serves.
    /// Default: none.
    /// </summary>
    public PublishConfig? Publish { get; init; }

    /// <summary>Lets instances register themselves as targets, with a time to live. Default: none (registrations are refused).</summary>
    public RegistrationConfig? Registration { get; init; }

    /// <summary>The gateway's own credential, added to every call the gateway makes to this service. Default: none.</summary>
    public ServiceCredentialConfig? Credential { get; init; }
}

/// <summary>One upstream instance.</summary>
public sealed record TargetConfig
{
    /// <summary><c>http://HOST:PORT</c> or <c>https://HOST:PORT</c>, with an optional base path. Required.</summary>
    public required string Url { get; init; }

    /// <summary>Relative share of traffic for round robin. Default 1.</summary>
    public int Weight { get; init; } = 1;
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
    /// <summary>PEM file of CA certificates trusted for this service's targets instead of the system store.</summary>
    public string? CaFile { get; init; }

    /// <summary>Client certificate presented to the targets (mutual TLS).</summary>
    public CertificateConfig? ClientCertificate { get; init; }
}
