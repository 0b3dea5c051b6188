namespace Gatehouse.Gateway.Observability;

/// <summary>
/// What one request leaves for usage analytics: small, and made only of references the request already had (ids from the
/// snapshot), so queueing it allocates nothing.
/// </summary>
internal readonly record struct UsageRecord(
    long UtcTicks,
    string Application,
    string Plan,
    string Operation,
    int Status,
    long LatencyMicros,
    long BytesIn,
    long BytesOut,
    int Steps);
