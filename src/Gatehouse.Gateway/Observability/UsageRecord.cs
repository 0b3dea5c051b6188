namespace Gatehouse.Gateway.Observability;

/// <summary>
/// What one request leaves for usage analytics: small, and made only of references the request already had (ids from the
/// snapshot), so queueing it allocates nothing. A call decided or reported through the service API is one record of
/// <see cref="Hits"/> calls, with <see cref="LatencyMicros"/> <see cref="Untimed"/> when nobody measured how long they took.
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
    int Steps,
    long Hits = 1)
{
    /// <summary>The latency of calls nobody timed: they count, but add nothing to the latency sum and histogram.</summary>
    public const long Untimed = -1;
}
