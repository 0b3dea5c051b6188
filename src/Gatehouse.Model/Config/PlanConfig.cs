using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// A tier of service such as <c>retail</c>, <c>wholesale</c> or <c>internal</c>: which operations its applications may
/// call (read, write or both), and how much.
/// </summary>
/// <remarks>
/// An operation is granted with an access class when an <see cref="Include"/> rule selects it for that class and no
/// <see cref="Omit"/> rule does. Once any plan is defined, every route needs a plan that grants it: a request without
/// a credential is served only when the <see cref="Anonymous"/> plan grants its operation.
/// </remarks>
public sealed record PlanConfig
{
    /// <summary>Shown to people.</summary>
    [DefaultText("the name")]
    public string? Title { get; init; }

    /// <summary>What the plan is for, in a sentence or two, shown to people choosing a plan (the portal's catalogue).</summary>
    public string? Description { get; init; }

    /// <summary>
    /// The plan of requests without a credential (a public catalogue): applications cannot subscribe to it, and its
    /// limits count per client address. At most one.
    /// </summary>
    public bool Anonymous { get; init; }

    /// <summary>
    /// Subscribing needs an administrator's approval: applications created through the admin API or the portal start
    /// <c>pending</c> (in a config file, an application's <c>state</c> is what it says).
    /// </summary>
    public bool ApprovalRequired { get; init; }

    /// <summary>Left out of public listings (the portal); applications can still be put on it.</summary>
    public bool Hidden { get; init; }

    /// <summary>Compositions send this plan's callers <c>Server-Timing</c> (one entry per step), to diagnose.</summary>
    public bool ServerTiming { get; init; }

    /// <summary>
    /// <c>shadow</c> lets through what the plan does not grant (and calls of pending or suspended applications),
    /// counting and logging them.
    /// </summary>
    public EnforcementMode Mode { get; init; } = EnforcementMode.Enforce;

    /// <summary>Rules that grant operations (below).</summary>
    public IReadOnlyList<GrantConfig> Include { get; init; } = [];

    /// <summary>Rules that take operations, or one access class of them, back out.</summary>
    public IReadOnlyList<GrantConfig> Omit { get; init; } = [];

    /// <summary>Rate limits and quotas of the plan as a whole (below).</summary>
    public IReadOnlyList<LimitConfig> Limits { get; init; } = [];

    /// <summary>
    /// Limits on the model tokens of calls through <c>ai</c> services (docs/ai.md), per application, on top of
    /// <c>limits</c> (which count those calls as requests).
    /// </summary>
    public IReadOnlyList<TokenLimitConfig> TokenLimits { get; init; } = [];

    /// <summary>
    /// Limits on what the plan's applications spend on model calls, in the currency of the models' <c>price</c>s
    /// (docs/ai.md), per application, beside <c>tokenLimits</c>.
    /// </summary>
    public IReadOnlyList<SpendLimitConfig> SpendLimits { get; init; } = [];

    /// <summary>
    /// The token limits, then the spend limits in the token limiter's form (<see cref="SpendLimitConfig.AsTokenLimit"/>):
    /// what model calls are admitted against, each by its position in this list. Made anew on each call.
    /// </summary>
    public IReadOnlyList<TokenLimitConfig> ModelLimits() => SpendLimits.Count == 0 ? TokenLimits : [.. TokenLimits, .. SpendLimits.Select(s => s.AsTokenLimit())];

    /// <summary>
    /// The model aliases the plan's applications may call through the model routes it grants (docs/ai.md): others are
    /// refused (403) and left out of <c>GET …/models</c>. Without it, every alias of those routes; <c>[]</c> allows none.
    /// Prompt operations are granted as operations and are not affected.
    /// </summary>
    [DocType("list of model aliases")]
    public IReadOnlyList<string>? Models { get; init; }

    /// <summary>
    /// Limits of single operations by operation id, on top of <c>limits</c>; the operation must be granted.
    /// </summary>
    [DocType("mapping operation id → list of limits")]
    public IReadOnlyDictionary<string, IReadOnlyList<LimitConfig>> OperationLimits { get; init; } = new Dictionary<string, IReadOnlyList<LimitConfig>>();

    /// <summary>
    /// <c>false</c>: this plan's callers are never served from the response cache and their responses are not kept
    /// (they always reach the service).
    /// </summary>
    public bool Cache { get; init; } = true;

    /// <summary>
    /// Origins allowed on top of those of a route's <c>cors</c> policy, for this plan's callers (same syntax as
    /// <c>cors.origins</c>). Preflights, which carry no credential, allow the origins of every plan that grants the
    /// route; the actual response allows only the caller's. <c>*</c> is refused on a plan that reaches a route whose CORS
    /// has <c>credentials: true</c> (every site could make credentialed calls): list the origins there.
    /// </summary>
    [DocType("list of origins")]
    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    /// <summary>Client addresses this plan's callers may (or may not) call from, checked after authentication.</summary>
    public IpFilterConfig? IpFilter { get; init; }
}

/// <summary>Whether an enforcing rule refuses, or only reports what it would refuse.</summary>
public enum EnforcementMode
{
    /// <summary>Refuses.</summary>
    Enforce,
    /// <summary>Decides, counts and logs, and lets the request through.</summary>
    Shadow,
}
