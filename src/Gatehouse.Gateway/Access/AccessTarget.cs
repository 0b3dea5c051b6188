using Gatehouse.Gateway.Limiting;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Access;

/// <summary>
/// What plans grant on one operation (shared by every route bound to it) or on one route bound to no operation:
/// for each plan, by <see cref="PlanModel.Index"/>, the limits of a granted read and of a granted write, or null
/// where the plan does not grant that access.
/// </summary>
internal sealed class AccessTarget(string name, string? operationId, OperationAccess? access, LimitSet?[] read, LimitSet?[] write, string usageOperation)
{
    /// <summary>How people know it: <c>operation 'users.getUser'</c> or <c>route 'legacy'</c>.</summary>
    public string Name { get; } = name;

    /// <summary>What usage counts its calls under: the operation's id, or <c>route:ID</c> (as <c>RouteModel.UsageOperation</c>), made once.</summary>
    public string UsageOperation { get; } = usageOperation;

    public string? OperationId { get; } = operationId;

    /// <summary>The operation's access class; null for a route, whose class comes from each request's method.</summary>
    public OperationAccess? Access { get; } = access;

    public LimitSet?[] Read { get; } = read;

    public LimitSet?[] Write { get; } = write;

    /// <summary>
    /// The OAuth scopes a caller's bearer token must carry here (the operation's <c>requireScopes</c>, and a route's own);
    /// null when none, and then no token's scopes are read.
    /// </summary>
    public ScopeRequirement? Scopes { get; init; }

    /// <summary>
    /// This target for a route that requires <paramref name="more"/> scopes than its operation: the same grant tables
    /// (so the same limits and counters), its own requirement. Itself when the route adds none.
    /// </summary>
    public AccessTarget WithScopes(IReadOnlyList<string> more) =>
        more.Count == 0 ? this : new AccessTarget(Name, OperationId, Access, Read, Write, UsageOperation) { Scopes = ScopeRequirement.Combine(Scopes, more) };

    /// <summary>Whether a request with <paramref name="method"/> is a write here.</summary>
    public bool IsWrite(string method) => Access is { } fixedAccess ? fixedAccess == OperationAccess.Write : OperationConfig.AccessOf(method) == OperationAccess.Write;
}
