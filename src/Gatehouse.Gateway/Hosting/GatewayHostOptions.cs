using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Hosting;

/// <summary>How to start a gateway process.</summary>
internal sealed record GatewayHostOptions
{
    /// <summary>The first configuration to serve; must be valid.</summary>
    public required GatehouseConfig Config { get; init; }

    /// <summary>When set, this file is watched and every valid change is applied (hot reload).</summary>
    public string? ConfigPath { get; init; }

    /// <summary>
    /// Where <c>${NAME}</c> in the watched file is looked up when it is reloaded. Default: the process environment.
    /// Give the same lookup that loaded <see cref="Config"/>, or a reload will see different values.
    /// </summary>
    public Func<string, string?>? Environment { get; init; }

    /// <summary>Replaces the port of the first listener (the default listener when none is configured).</summary>
    public int? Port { get; init; }

    /// <summary>Least severe log level written. Default Information (lifecycle events only; nothing per request).</summary>
    public LogLevel MinimumLogLevel { get; init; } = LogLevel.Information;

    /// <summary>Extra logging setup (tests capture logs here).</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>
    /// Where quota counts (hour, day, month) are kept across restarts: loaded before the listeners open, written in
    /// batches every <see cref="QuotaWriteInterval"/> and at stop. Default: none (counted in memory only).
    /// </summary>
    public Gatehouse.Model.Limits.IQuotaCountStore? QuotaStore { get; init; }

    /// <summary>
    /// The counter engine that <c>scope: cluster</c> limits share with the other nodes of the store (the PostgreSQL
    /// store); <c>gateway.limits.redis</c> takes precedence. Default: none.
    /// </summary>
    public Gatehouse.Model.Limits.ILimitEngine? LimitEngine { get; init; }

    /// <summary>How often changed quota counts are written to <see cref="QuotaStore"/>: the most a crash loses. Default 5 s.</summary>
    public TimeSpan? QuotaWriteInterval { get; init; }

    /// <summary>How often, at most, a new connection looks at an https listener's certificate files for a renewal. Default 10 s.</summary>
    public TimeSpan? CertificateCheckInterval { get; init; }

    /// <summary>
    /// Leave the "Revision N is live" line to the caller (<see cref="GatewayHost.AnnounceLive"/>), which starts more
    /// listeners after the gateway's (the admin API) and must not claim the revision live if one of them fails. Default false.
    /// </summary>
    public bool DeferAnnouncement { get; init; }

    /// <summary>Where this node's usage rollups go (the store); null records no usage (<c>gatehouse run --config</c>).</summary>
    public Model.Usage.IUsageSink? UsageSink { get; init; }

    /// <summary>
    /// True when an admin listener in this process will serve <see cref="GatewayHost.Metrics"/> at <c>/metrics</c>. Without it
    /// (and without <c>gateway.observability.metrics.url</c>) nobody could scrape, so no metric is collected at all.
    /// </summary>
    public bool MetricsOnAdmin { get; init; }

    /// <summary>The node id usage rows and access log lines carry. Default: none (usage rows say <c>gateway</c>).</summary>
    public string? NodeId { get; init; }

    /// <summary>
    /// Settings added over the process environment for this host's OpenTelemetry SDK (the <c>OTEL_*</c> variables), so that a
    /// test can point traces at its own receiver. Default: none.
    /// </summary>
    public IReadOnlyDictionary<string, string?>? TelemetrySettings { get; init; }

    /// <summary>
    /// Where to serve <c>/ready</c> and <c>/live</c> on a listener of their own (<c>gatehouse run --config</c>); null for
    /// none (the admin API serves them with <c>--store</c>).
    /// </summary>
    public string? HealthUrl { get; init; }

    /// <summary>
    /// Whether the gateway serves a real config yet: while false, <c>/ready</c> on <see cref="HealthUrl"/> answers 503
    /// "no config yet" (a hybrid data node that has neither a config on disk nor one from its control plane). Default: always.
    /// </summary>
    public Func<bool>? HasConfig { get; init; }

    /// <summary>When <see cref="HealthUrl"/> cannot be bound, warn and serve without it (it was not asked for explicitly).</summary>
    public bool HealthUrlOptional { get; init; }

    /// <summary>
    /// The request metrics' queue (records) and how often it is drained; null for 65,536 and 100 ms. A test seam, not a
    /// setting: no test machine sends requests fast enough to fill the real queue between two drains (it holds 650,000
    /// requests a second), so a test that reads <c>gatehouse_metrics_dropped_total</c> from <c>/metrics</c> gives a tiny
    /// queue that only scrapes drain (<see cref="Timeout.InfiniteTimeSpan"/>).
    /// </summary>
    public (int Records, TimeSpan Drain)? RequestMetricsQueue { get; init; }

    /// <summary>Clock for timeouts, health checks and file polling. Default: the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
