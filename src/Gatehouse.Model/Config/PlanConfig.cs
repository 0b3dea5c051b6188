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
    /// <summary>Name shown to people (portal, admin API). Default: the plan's key.</summary>
    public string? Title { get; init; }

    /// <summary>
    /// The plan of requests that carry no credential (a public catalogue). Applications cannot subscribe to it, and
    /// its limits count per client address. At most one plan may be anonymous. Default false.
    /// </summary>
    public bool Anonymous { get; init; }

    /// <summary>Subscribing needs an administrator's approval: new applications start <c>pending</c>. Default false.</summary>
    public bool ApprovalRequired { get; init; }

    /// <summary>Left out of public listings (the portal); applications can still be put on it. Default false.</summary>
    public bool Hidden { get; init; }

    /// <summary>
    /// Compositions answer this plan's callers with a <c>Server-Timing</c> header (one entry per step), as a
    /// composition's own <c>serverTiming</c> does for every caller: for a plan used to diagnose, such as <c>internal</c>.
    /// Default false.
    /// </summary>
    public bool ServerTiming { get; init; }

    /// <summary>
    /// <c>enforce</c> refuses a request the plan does not grant, or of an application that is not live, with 403;
    /// <c>shadow</c> decides the same, counts and logs the refusal, and lets the request through. Default <c>enforce</c>.
    /// Limits have their own <c>mode</c>.
    /// </summary>
    public EnforcementMode Mode { get; init; } = EnforcementMode.Enforce;

    /// <summary>Rules that grant operations. Default: none, so the plan grants nothing.</summary>
    public IReadOnlyList<GrantConfig> Include { get; init; } = [];

    /// <summary>Rules that take operations (or one access class of them) back out of what <see cref="Include"/> granted. Default: none.</summary>
    public IReadOnlyList<GrantConfig> Omit { get; init; } = [];

    /// <summary>Rate limits and quotas of the plan as a whole: every call of every operation counts. Default: none.</summary>
    public IReadOnlyList<LimitConfig> Limits { get; init; } = [];

    /// <summary>Limits of single operations by operation id, counted on top of the plan-wide <see cref="Limits"/>. Default: none.</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<LimitConfig>> OperationLimits { get; init; } = new Dictionary<string, IReadOnlyList<LimitConfig>>();
}

/// <summary>Whether an enforcing rule refuses, or only reports what it would refuse.</summary>
public enum EnforcementMode
{
    /// <summary>Refuses.</summary>
    Enforce,
    /// <summary>Decides, counts and logs, and lets the request through.</summary>
    Shadow,
}
