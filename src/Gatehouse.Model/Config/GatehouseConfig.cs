using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>The whole declarative configuration document (<c>gatehouse.yaml</c>).</summary>
[BindingRules(typeof(Loading.RootRules))]
public sealed record GatehouseConfig
{
    /// <summary>The only document version this build reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Document format version; this build reads <c>1</c>. Required.</summary>
    [SchemaRequired]
    public int Version { get; init; } = CurrentVersion;

    /// <summary>Listeners, trusted proxies, request limits, credentials: the gateway process (see below).</summary>
    public GatewayConfig Gateway { get; init; } = new();

    /// <summary>Backend services by name (1-100 of <c>A-Z a-z 0-9 - _ .</c>); routes refer to them by name.</summary>
    public IReadOnlyDictionary<string, ServiceConfig> Services { get; init; } = new Dictionary<string, ServiceConfig>();

    /// <summary>Public routes by id.</summary>
    public IReadOnlyDictionary<string, RouteConfig> Routes { get; init; } = new Dictionary<string, RouteConfig>();

    /// <summary>
    /// Tiers of service by name: which operations their applications may call, read or write, and how much. Once one
    /// plan exists, every route needs a plan that grants it (see access.md).
    /// </summary>
    public IReadOnlyDictionary<string, PlanConfig> Plans { get; init; } = new Dictionary<string, PlanConfig>();

    /// <summary>Consumers who own applications, by id.</summary>
    public IReadOnlyDictionary<string, AccountConfig> Accounts { get; init; } = new Dictionary<string, AccountConfig>();

    /// <summary>
    /// Consumers' clients by id, each on one plan, with their credentials; the id is what services see in
    /// <c>Gatehouse-Application</c>.
    /// </summary>
    public IReadOnlyDictionary<string, ApplicationConfig> Applications { get; init; } = new Dictionary<string, ApplicationConfig>();

    /// <summary>Routes served by several backend calls and a shaped JSON response, by id (see compositions.md).</summary>
    [BoundByRules]
    [DefaultText("`{}`")]
    public IReadOnlyDictionary<string, CompositionConfig> Compositions { get; init; } = new Dictionary<string, CompositionConfig>();
}
