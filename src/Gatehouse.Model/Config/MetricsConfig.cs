namespace Gatehouse.Model.Config;

/// <summary><c>gateway.observability.metrics</c>: Prometheus metrics in the text exposition format.</summary>
public sealed record MetricsConfig
{
    /// <summary>Serve <c>/metrics</c>. Default true: on the admin listener (admin token required), and on <see cref="Url"/> when set.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// A listener of their own for <c>/metrics</c>, without a token (keep it on a private address), e.g.
    /// <c>http://127.0.0.1:9464</c>. Default: none. This is the only way to get metrics from <c>gatehouse run --config</c>.
    /// Read at start.
    /// </summary>
    public string? Url { get; init; }

    /// <summary>
    /// Add the calling application as a label (<c>gatehouse_application_requests_total</c>). Default false: labels are
    /// route, plan and status only, so the number of series does not grow with the number of consumers.
    /// </summary>
    public bool ApplicationLabel { get; init; }

    /// <summary>
    /// With <see cref="ApplicationLabel"/>, the most applications given a series of their own; the rest are counted under
    /// <c>application="_other"</c> and the overflow is counted in <c>gatehouse_metrics_label_overflow_total</c>. Default 100.
    /// </summary>
    public int MaxApplications { get; init; } = 100;
}
