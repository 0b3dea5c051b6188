using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary><c>gateway.observability.metrics</c>: Prometheus metrics in the text exposition format.</summary>
public sealed record MetricsConfig
{
    /// <summary>Serve <c>/metrics</c>: on the admin listener (admin token required), and on <c>url</c> when set.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>
    /// A listener of its own for <c>/metrics</c>, without a token (keep it on a private address), e.g.
    /// <c>http://127.0.0.1:9464</c>. The only way to get metrics from <c>gatehouse run --config</c>. Read at start.
    /// </summary>
    [DocType("URL")]
    public string? Url { get; init; }

    /// <summary>
    /// Add the calling application as a label (<c>gatehouse_application_requests_total</c>). Off, labels are route, plan
    /// and status only, so the number of series does not grow with the number of consumers.
    /// </summary>
    public bool ApplicationLabel { get; init; }

    /// <summary>
    /// With <c>applicationLabel</c>, the most applications given a series of their own; the rest are counted under
    /// <c>application="_other"</c> and the overflow in <c>gatehouse_metrics_label_overflow_total</c>.
    /// </summary>
    [Minimum(1)]
    public int MaxApplications { get; init; } = 100;
}
