namespace Gatehouse.Model.Config;

/// <summary>
/// <c>gateway.observability.tracing</c>. Tracing itself is switched on and configured by the standard OpenTelemetry
/// environment variables (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c>, <c>OTEL_TRACES_SAMPLER</c>, ...); this says whom to believe.
/// </summary>
public sealed record TracingConfig
{
    /// <summary>
    /// Whose W3C <c>traceparent</c> continues a trace: <c>trustedProxies</c> (clients in <c>gateway.trustedProxies</c>),
    /// <c>any</c> client, or <c>none</c> (every request starts a new trace).
    /// </summary>
    public TraceparentTrust AcceptTraceparent { get; init; } = TraceparentTrust.TrustedProxies;
}

/// <summary>Whose incoming <c>traceparent</c> is continued.</summary>
public enum TraceparentTrust
{
    /// <summary>Only from the addresses in <c>gateway.trustedProxies</c>.</summary>
    TrustedProxies,

    /// <summary>From any client.</summary>
    Any,

    /// <summary>From no one: every request starts a new trace.</summary>
    None,
}
