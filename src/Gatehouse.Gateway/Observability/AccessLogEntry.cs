namespace Gatehouse.Gateway.Observability;

/// <summary>
/// One access log line before it is written; every text in it already passed <see cref="Redaction"/>. The client address
/// and the trace id are kept as they are and formatted by the writer's loop, off the request path.
/// </summary>
internal readonly record struct AccessLogEntry(
    long UtcTicks,
    string RequestId,
    System.Net.IPAddress? Client,
    string Method,
    string Path,
    string Query,
    int Status,
    double DurationMs,
    long BytesIn,
    long BytesOut,
    string? Route,
    string? Operation,
    string? Application,
    string? Plan,
    string? Upstream,
    int Steps,
    string? UserAgent,
    System.Diagnostics.ActivityTraceId TraceId,
    string? Retries = null,
    string? NotRetried = null);
