namespace Gatehouse.Model.Config;

/// <summary>The whole declarative configuration document (<c>gatehouse.yaml</c>).</summary>
public sealed record GatehouseConfig
{
    /// <summary>The only document version this build reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Document format version. Required; must be <c>1</c>.</summary>
    public int Version { get; init; } = CurrentVersion;

    /// <summary>Listeners, trusted proxies and request limits of the gateway process.</summary>
    public GatewayConfig Gateway { get; init; } = new();

    /// <summary>Backend services by name. The name is what routes refer to.</summary>
    public IReadOnlyDictionary<string, ServiceConfig> Services { get; init; } = new Dictionary<string, ServiceConfig>();

    /// <summary>Public routes by id, in the order they were written.</summary>
    public IReadOnlyDictionary<string, RouteConfig> Routes { get; init; } = new Dictionary<string, RouteConfig>();

    /// <summary>Trusted JWT issuers by name. Not yet used by routes; applications will refer to them.</summary>
    public IReadOnlyDictionary<string, JwtIssuerConfig> JwtIssuers { get; init; } = new Dictionary<string, JwtIssuerConfig>();
}
