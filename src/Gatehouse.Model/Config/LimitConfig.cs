using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// One rate limit or quota: at most <see cref="Requests"/> requests per <see cref="Per"/>, written
/// <c>{ requests: 100, per: minute }</c>. Plans list these for the plan as a whole and per operation.
/// </summary>
/// <remarks>
/// Windows are fixed and aligned to UTC calendar boundaries, so a quota "per day" resets at 00:00 UTC and one
/// "per month" on the 1st. A fixed window admits exactly <see cref="Requests"/> requests per window, but a client
/// can spend one window's allowance at its very end and the next at its very start: in any interval of the
/// window's length it can get up to twice <see cref="Requests"/> through. That is the error bound of the rate
/// limits (per second, per minute) against a sliding window; for quotas the calendar window is the contract.
/// </remarks>
[ListRules(typeof(Loading.LimitRules))]
[Strict]
public sealed record LimitConfig
{
    /// <summary>Requests allowed per window.</summary>
    [RequiredKey("how many requests the limit allows per window, e.g. 'requests: 100'")]
    [Minimum(1)]
    public required int Requests { get; init; }

    /// <summary>
    /// The window: <c>second</c> and <c>minute</c> are rate limits, <c>hour</c>, <c>day</c> and <c>month</c> quotas.
    /// Windows are fixed and aligned to UTC (a day starts at 00:00 UTC, a month on the 1st).
    /// </summary>
    [RequiredKey("one of second, minute (rate limits), hour, day, month (quotas)")]
    public required LimitPeriod Per { get; init; }

    /// <summary>
    /// <c>shadow</c> counts and reports "would deny" but lets the request through: the way to try a new limit out.
    /// </summary>
    public LimitMode Mode { get; init; } = LimitMode.Enforce;

    /// <summary>
    /// <c>cluster</c>: every node sharing the counter engine counts against this one limit; <c>node</c>: each node
    /// counts by itself. Shadow limits always count per node.
    /// </summary>
    [DefaultText("`cluster` when the nodes share a counter engine (Redis, or a PostgreSQL store), else `node`")]
    public LimitScope? Scope { get; init; }

    /// <summary>
    /// For <c>scope: cluster</c>: <c>strict</c> reserves budget in leases and never admits more than the limit;
    /// <c>fast</c> counts locally and syncs every <c>gateway.limits.syncInterval</c> (docs/limits.md gives both bounds).
    /// </summary>
    public LimitSync Sync { get; init; } = LimitSync.Strict;

    /// <summary>
    /// For <c>sync: strict</c>: how many requests a node reserves from the engine at a time. Larger leases call the
    /// engine less often; the cluster can admit up to nodes × (lease − 1) fewer than the limit.
    /// </summary>
    [Minimum(1)]
    [DefaultText("2% of `requests`, at least 1")]
    public int? Lease { get; init; }

    /// <summary>For <c>scope: cluster</c>: what a node does while the counter engine does not answer.</summary>
    public EngineDownAction OnEngineDown { get; init; } = EngineDownAction.Share;

    /// <summary>The lease size used: <see cref="Lease"/>, or 2% of <see cref="Requests"/> (at least 1).</summary>
    [NotConfig]
    public int EffectiveLease => Lease ?? Math.Max(1, Requests / 50);
}
