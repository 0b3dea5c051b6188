using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>How unhealthy targets are found and taken out of load balancing.</summary>
public sealed record HealthCheckConfig
{
    /// <summary>Probes every destination on a timer.</summary>
    public ActiveHealthCheckConfig? Active { get; init; }

    /// <summary>Ejects a destination after failed requests.</summary>
    public PassiveHealthCheckConfig? Passive { get; init; }
}

/// <summary>Active health checks: a GET of <see cref="Path"/> on every target, or gRPC's health check.</summary>
[BindingRules(typeof(Loading.ActiveHealthCheckRules))]
public sealed record ActiveHealthCheckConfig
{
    // One instance for every default, so that two configs that do not set it compare equal (records compare lists by reference).
    private static readonly string[] DefaultStatuses = ["2xx"];

    /// <summary>Probed with GET on every destination; a status of <c>statuses</c> is healthy.</summary>
    public string Path { get; init; } = "/health";

    /// <summary>
    /// The statuses of a healthy answer: codes (<c>"204"</c>), ranges (<c>"200-399"</c>) or classes (<c>"2xx"</c>), for a
    /// health endpoint that redirects or wants a login. Anything else, and no answer, is a failed probe.
    /// </summary>
    [DefaultText("`[2xx]`")]
    public IReadOnlyList<string> Statuses { get; init; } = DefaultStatuses;

    /// <summary>Between probes of one destination.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Per probe; must not exceed the interval.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Consecutive successes that bring a destination back.</summary>
    [Minimum(1)]
    public int HealthyThreshold { get; init; } = 2;

    /// <summary>Consecutive failures that take it out.</summary>
    [Minimum(1)]
    public int UnhealthyThreshold { get; init; } = 3;

    /// <summary>
    /// Probes with gRPC's standard health check (<c>grpc.health.v1.Health/Check</c>) instead of a GET of <c>path</c>:
    /// healthy when the call succeeds and answers <c>SERVING</c>. For a service of <c>protocol: http2</c>.
    /// </summary>
    [DefaultText("off: a GET of `path`")]
    public GrpcHealthCheckConfig? Grpc { get; init; }
}

/// <summary>gRPC's health check (grpc.health.v1) as a service's active probe.</summary>
[EmptyAllowed]
public sealed record GrpcHealthCheckConfig
{
    /// <summary>The service name asked about; empty asks about the server as a whole.</summary>
    [DefaultText("empty: the whole server")]
    public string Service { get; init; } = "";
}

/// <summary>Passive health checks: real requests that fail eject the target for a while.</summary>
public sealed record PassiveHealthCheckConfig
{
    /// <summary>
    /// Consecutive failed requests (the upstream's own: connect errors, resets, timeouts, 5xx) that eject a
    /// destination.
    /// </summary>
    [Minimum(1)]
    public int ConsecutiveFailures { get; init; } = 5;

    /// <summary>How long an ejected destination stays out.</summary>
    public TimeSpan Cooldown { get; init; } = TimeSpan.FromSeconds(30);
}
