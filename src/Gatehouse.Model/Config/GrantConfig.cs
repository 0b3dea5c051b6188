using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// One rule of a plan's <c>include</c> or <c>omit</c> list: a selector (exactly one of <see cref="Operation"/>,
/// <see cref="Tag"/>, <see cref="Path"/>, <see cref="Route"/>) and the access classes it applies to, written e.g.
/// <c>{ tag: users, access: read }</c>.
/// </summary>
[BindingRules(typeof(Loading.GrantRules))]
public sealed record GrantConfig
{
    /// <summary>An operation id (<c>users.getUser</c>). It must exist.</summary>
    [NonEmpty]
    public string? Operation { get; init; }

    /// <summary>Every operation with this tag. At least one operation must have it.</summary>
    [NonEmpty]
    public string? Tag { get; init; }

    /// <summary>
    /// Operations (and routes without an operation) whose path template matches this pattern: <c>*</c> is one
    /// segment, <c>**</c> any number of segments, e.g. <c>/orders/**</c>. It must match something.
    /// </summary>
    [NonEmpty]
    public string? Path { get; init; }

    /// <summary>A route without an operation, by id; such a route's access class comes from the request's method.</summary>
    [NonEmpty]
    public string? Route { get; init; }

    /// <summary><c>read</c>, <c>write</c>, or both (<c>[read, write]</c>). Default: both.</summary>
    [BoundByRules("""{ "oneOf": [ { "enum": ["read", "write"] }, { "type": "array", "items": { "enum": ["read", "write"] }, "minItems": 1 } ] }""")]
    public IReadOnlyList<OperationAccess> Access { get; init; } = [OperationAccess.Read, OperationAccess.Write];
}
