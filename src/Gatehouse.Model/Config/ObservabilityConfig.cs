namespace Gatehouse.Model.Config;

/// <summary>
/// <c>gateway.observability</c>: what the gateway records about the requests it serves, all of it off the request
/// path: usage analytics, Prometheus metrics, the access log and traces (docs/observability.md).
/// </summary>
public sealed record ObservabilityConfig
{
    /// <summary>Usage recording and its rollups in the store; on when the gateway runs with a store. Read at start: a reload that changes it is reported and takes effect on restart.</summary>
    public UsageConfig Usage { get; init; } = new();

    /// <summary>Prometheus metrics at <c>/metrics</c>, on the admin listener. Read at start: a reload that changes it is reported and takes effect on restart.</summary>
    public MetricsConfig Metrics { get; init; } = new();

    /// <summary>The JSON-lines access log. Read at start (a reload that changes it is reported and takes effect on restart), but for <c>sampleRate</c> and <c>errorsOnly</c>, which a reload changes at once.</summary>
    public AccessLogConfig? AccessLog { get; init; }

    /// <summary>How traces are continued (they are switched on by the <c>OTEL_*</c> environment variables).</summary>
    public TracingConfig Tracing { get; init; } = new();
}
