namespace Gatehouse.Model.Usage;

/// <summary>
/// One limit of an application's plan as it stands now: <see cref="Used"/> of <see cref="Limit"/> requests in the window
/// that ends at <see cref="ResetsAt"/>. Counted per gateway node (docs/limits.md).
/// </summary>
/// <param name="Name">The limit's name, as in the <c>RateLimit-Policy</c> header (<c>day</c>, <c>minute</c>, ...).</param>
/// <param name="Period">The window: <c>second</c>, <c>minute</c>, <c>hour</c>, <c>day</c> or <c>month</c>.</param>
/// <param name="Quota">True for quotas (hour, day, month), false for rate limits.</param>
/// <param name="Shadow">True for a limit in shadow mode, which counts but never refuses.</param>
public sealed record QuotaWindow(string Name, string Period, bool Quota, bool Shadow, int Limit, long Used, DateTimeOffset ResetsAt)
{
    /// <summary>Requests left in the window.</summary>
    public long Remaining => Math.Max(0, Limit - Used);

    /// <summary>The operation this limit is of (the plan's <c>operationLimits</c>); null for a limit of every call.</summary>
    public string? Operation { get; init; }
}
