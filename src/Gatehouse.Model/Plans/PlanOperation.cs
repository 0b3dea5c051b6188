using Gatehouse.Model.Config;

namespace Gatehouse.Model.Plans;

/// <summary>One public operation a plan grants: what a consumer on that plan may call, and how.</summary>
/// <param name="Id">The operation id (<c>users.getUser</c>, a composition's id), or the route id for a route bound to no operation.</param>
/// <param name="Method">Upper-case public method.</param>
/// <param name="Path">The public path template (the route's, not the service's).</param>
/// <param name="Access">Read or write.</param>
/// <param name="Tags">The operation's tags.</param>
/// <param name="Service">The service whose OpenAPI document describes it; null for compositions and declared-only routes.</param>
/// <param name="SourcePath">The operation's path in that document (its key under <c>paths</c>).</param>
/// <param name="SourceMethod">The operation's method in that document.</param>
/// <param name="Kind">Operation, composition or route.</param>
public sealed record PlanOperation(
    string Id,
    string Method,
    string Path,
    OperationAccess Access,
    IReadOnlyList<string> Tags,
    string? Service,
    string? SourcePath,
    string? SourceMethod,
    PlanOperationKind Kind)
{
    /// <summary>
    /// The OpenAPI operation object when the config itself describes the operation (a prompt: its input schema as the
    /// request body), used instead of a service document's; null otherwise.
    /// </summary>
    public System.Text.Json.Nodes.JsonObject? Document { get; init; }

    /// <summary>
    /// The OAuth scopes a bearer token must carry to call it here: its operation's (or composition's)
    /// <c>requireScopes</c> and then its route's, each once; empty when it needs none.
    /// </summary>
    public IReadOnlyList<string> Scopes { get; init; } = [];
}

/// <summary>What a <see cref="PlanOperation"/> is bound to.</summary>
public enum PlanOperationKind
{
    /// <summary>A service's operation, through a route bound to it.</summary>
    Operation,
    /// <summary>A composition.</summary>
    Composition,
    /// <summary>A route bound to no operation, granted by route id or path.</summary>
    Route,
}

/// <summary>A model route a plan grants (<see cref="PlanProjection.Models"/>).</summary>
/// <param name="RouteId">The route's id.</param>
/// <param name="BasePath">The public base of its OpenAI-compatible API (<c>/v1</c>): chat completions, embeddings and models are under it.</param>
/// <param name="Aliases">The model aliases its service offers.</param>
public sealed record PlanModelRoute(string RouteId, string BasePath, IReadOnlyList<string> Aliases);
