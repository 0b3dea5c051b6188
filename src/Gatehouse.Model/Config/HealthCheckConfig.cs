using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>How unhealthy targets are found and taken out of load balancing.</summary>
public sealed record HealthCheckConfig
{
    /// <summary>Periodic probes of every target.</summary>
    public ActiveHealthCheckConfig? Active { get; init; }

    /// <summary>Ejection of a target after consecutive failures of real traffic.</summary>
    public PassiveHealthCheckConfig? Passive { get; init; }
}

/// <summary>Active health checks: a GET of <see cref="Path"/> on every target.</summary>
public sealed record ActiveHealthCheckConfig
{
    /// <summary>Path probed with GET; any 2xx is healthy. Default <c>/health</c>.</summary>
    public string Path { get; init; } = "/health";

    /// <summary>Time between probes of one target. Default 10s.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Time a probe may take. Default 2s.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive successful probes that bring a target back. Default 2.</summary>
    [Minimum(1)]
    public int HealthyThreshold { get; init; } = 2;

    /// <summary>Consecutive failed probes that take a target out. Default 3.</summary>
    [Minimum(1)]
    public int UnhealthyThreshold { get; init; } = 3;
}

/// <summary>Passive health checks: real requests that fail eject the target for a while.</summary>
public sealed record PassiveHealthCheckConfig
{
    /// <summary>Consecutive failed requests (connection errors, timeouts, 5xx) that eject a target. Default 5.</summary>
    [Minimum(1)]
    public int ConsecutiveFailures { get; init; } = 5;

    /// <summary>How long an ejected target stays out before it gets traffic again. Default 30s.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromSeconds(30);
}
