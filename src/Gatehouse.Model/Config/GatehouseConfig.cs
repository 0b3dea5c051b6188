using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>The whole declarative configuration document (<c>gatehouse.yaml</c>).</summary>
[BindingRules(typeof(Loading.RootRules))]
public sealed record GatehouseConfig
{
    /// <summary>The only document version this build reads.</summary>
    public const int CurrentVersion = 1;

    /// <summary>Document format version. Required; must be <c>1</c>.</summary>
    [SchemaRequired]
    public int Version { get; init; } = CurrentVersion;

    /// <summary>Listeners, trusted proxies and request limits of the gateway process.</summary>
    public GatewayConfig Gateway { get; init; } = new();

    /// <summary>Backend services by name. The name is what routes refer to.</summary>
    public IReadOnlyDictionary<string, ServiceConfig> Services { get; init; } = new Dictionary<string, ServiceConfig>();

    /// <summary>Public routes by id, in the order they were written.</summary>
    public IReadOnlyDictionary<string, RouteConfig> Routes { get; init; } = new Dictionary<string, RouteConfig>();

    /// <summary>Plans by name. Once one is defined, every route needs a plan that grants it. Default: none (every route is open).</summary>
    public IReadOnlyDictionary<string, PlanConfig> Plans { get; init; } = new Dictionary<string, PlanConfig>();

    /// <summary>Accounts (consumers) by id. Default: none.</summary>
    public IReadOnlyDictionary<string, AccountConfig> Accounts { get; init; } = new Dictionary<string, AccountConfig>();

    /// <summary>Applications by id; the id is what services see in <c>Gatehouse-Application</c>. Default: none.</summary>
    public IReadOnlyDictionary<string, ApplicationConfig> Applications { get; init; } = new Dictionary<string, ApplicationConfig>();

    /// <summary>Compositions by id: public routes served by several backend calls and a shaped response. Default: none.</summary>
    [BoundByRules]
    public IReadOnlyDictionary<string, CompositionConfig> Compositions { get; init; } = new Dictionary<string, CompositionConfig>();
}
