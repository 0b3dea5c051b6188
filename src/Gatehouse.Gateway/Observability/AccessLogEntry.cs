namespace Gatehouse.Gateway.Observability;

/// <summary>One access log line before it is written; every text in it already passed <see cref="Redaction"/>.</summary>
internal readonly record struct AccessLogEntry(
    long UtcTicks,
    string RequestId,
    string? Client,
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
    string? TraceId,
    string? Retries = null,
    string? NotRetried = null);
