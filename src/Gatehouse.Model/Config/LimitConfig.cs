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
}
