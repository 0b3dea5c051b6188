using Gatehouse.Model.Config;

namespace Gatehouse.Model.Consumers;

/// <summary>How much of one limit an application has used in the current window, as one node counts it.</summary>
/// <param name="Name">The limit's name (<c>minute</c>, <c>day</c>).</param>
/// <param name="Per">Its window.</param>
/// <param name="Requests">Requests allowed per window.</param>
/// <param name="Used">Requests counted in the current window.</param>
/// <param name="Resets">When the current window ends.</param>
public sealed record LimitUsage(string Name, LimitPeriod Per, int Requests, int Used, DateTimeOffset Resets)
{
    /// <summary>What is left of the window's allowance (never below 0).</summary>
    public int Remaining => Math.Max(0, Requests - Used);

    /// <summary>A quota (hour, day, month) rather than a rate limit.</summary>
    public bool IsQuota => Per is LimitPeriod.Hour or LimitPeriod.Day or LimitPeriod.Month;

    /// <summary>The operation this limit is of (the plan's <c>operationLimits</c>); null for a limit of every call.</summary>
    public string? Operation { get; init; }
}
