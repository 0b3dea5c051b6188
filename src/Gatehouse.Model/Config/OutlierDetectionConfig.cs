using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Ejects a destination that fails (the upstream's own failures: 5xx, unreachable, reset, timed out) for a time that
/// grows with each ejection; when it is over, one request at a time probes it until one succeeds. Replaces
/// <c>healthCheck.passive</c>.
/// </summary>
[EmptyAllowed]
public sealed record OutlierDetectionConfig
{
    /// <summary>Consecutive failed requests that eject a destination.</summary>
    [Minimum(1)]
    public int ConsecutiveFailures { get; init; } = 5;

    /// <summary>
    /// Ejects a destination whose share of failed requests over <c>window</c> reaches this, in percent, once it has
    /// served <c>minimumRequests</c> in the window.
    /// </summary>
    [Minimum(1)]
    [DefaultText("off")]
    public int? FailurePercent { get; init; }

    /// <summary>Requests a destination must serve in a window before <c>failurePercent</c> is judged.</summary>
    [Minimum(1)]
    public int MinimumRequests { get; init; } = 20;

    /// <summary>The window <c>failurePercent</c> is counted over.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time out for the first ejection; the n-th ejection in a row lasts n times as long.</summary>
    public TimeSpan BaseEjectionTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>No ejection lasts longer.</summary>
    public TimeSpan MaxEjectionTime { get; init; } = TimeSpan.FromSeconds(300);

    /// <summary>At most this share of the service's destinations is ejected at once, in percent (one always may be).</summary>
    [Minimum(0)]
    public int MaxEjectedPercent { get; init; } = 10;

    /// <summary>
    /// Panic mode: when fewer than this share of destinations (in percent) is available, requests spread over all
    /// of them, ejected or not, rather than being answered 503. <c>0</c> turns it off.
    /// </summary>
    [Minimum(0)]
    public int PanicThresholdPercent { get; init; } = 50;
}

/// <summary>
/// Caps on the requests one gateway node sends to a service at once; past them clients get 503
/// <c>upstream-overloaded</c> at once rather than waiting on a service that is already saturated.
/// </summary>
[EmptyAllowed]
public sealed record ConcurrencyConfig
{
    /// <summary>Requests in flight to the service at once.</summary>
    [Minimum(1)]
    public int MaxRequests { get; init; } = 1024;

    /// <summary>Requests that may wait for one of <c>maxRequests</c> to finish; <c>0</c> answers 503 at once.</summary>
    [Minimum(0)]
    public int MaxPending { get; init; }
}
