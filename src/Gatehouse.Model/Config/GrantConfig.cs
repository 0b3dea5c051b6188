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
    /// <summary>One operation; it must exist.</summary>
    [NonEmpty]
    [DocType("operation id")]
    [DefaultText("—")]
    public string? Operation { get; init; }

    /// <summary>Every operation with the tag; at least one must have it.</summary>
    [NonEmpty]
    [DefaultText("—")]
    public string? Tag { get; init; }

    /// <summary>
    /// Operations (by their path template) and routes bound to no operation (by their path) matching it: <c>*</c> is
    /// one segment, <c>**</c> any number, <c>{x}</c> any parameter. It must match something.
    /// </summary>
    [NonEmpty]
    [DocType("pattern")]
    [DefaultText("—")]
    public string? Path { get; init; }

    /// <summary>A route bound to no operation; its access class comes from each request's method.</summary>
    [NonEmpty]
    [DocType("route id")]
    [DefaultText("—")]
    public string? Route { get; init; }

    /// <summary>
    /// The access classes the rule applies to. An operation has one class (<c>read</c> for GET/HEAD/OPTIONS unless
    /// declared), so <c>{ tag: users, access: read }</c> never grants a users write.
    /// </summary>
    [BoundByRules("""{ "oneOf": [ { "enum": ["read", "write"] }, { "type": "array", "items": { "enum": ["read", "write"] }, "minItems": 1 } ] }""")]
    [DocType("`read`, `write` or `[read, write]`")]
    [DefaultText("both")]
    public IReadOnlyList<OperationAccess> Access { get; init; } = [OperationAccess.Read, OperationAccess.Write];
}
