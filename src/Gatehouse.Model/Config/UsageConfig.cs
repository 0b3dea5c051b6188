namespace Gatehouse.Model.Config;

/// <summary>
/// <c>gateway.observability.usage</c>: every request becomes a small record, rolled up per minute by (application,
/// plan, operation, status) and flushed to the store, then kept per minute, hour and day.
/// </summary>
public sealed record UsageConfig
{
    /// <summary>Record usage. Default true; it needs a store (<c>gatehouse run --store</c>), and is off without one.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How often this node's rollups are written to the store. Default 5s; 1s to 5m.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many request records wait between the request path and the aggregator. Default 65536. When it is full, records are
    /// dropped and counted (<c>gatehouse.usage.dropped</c>); a request never waits for it.
    /// </summary>
    public int BufferSize { get; init; } = 65_536;

    /// <summary>
    /// Most distinct (application, plan, operation, status) rows held in memory while the store cannot take them. Default 200000;
    /// records of new rows past it are dropped and counted.
    /// </summary>
    public int MaxPendingRows { get; init; } = 200_000;

    /// <summary>How long minute rollups are kept. Default 7d.</summary>
    public TimeSpan KeepMinutes { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How long hour rollups are kept. Default 90d.</summary>
    public TimeSpan KeepHours { get; init; } = TimeSpan.FromDays(90);

    /// <summary>How long day rollups are kept. Default: forever (null).</summary>
    public TimeSpan? KeepDays { get; init; }
}
