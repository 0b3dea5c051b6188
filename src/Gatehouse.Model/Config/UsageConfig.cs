using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// <c>gateway.observability.usage</c>: every request becomes a small record, rolled up per minute by (application,
/// plan, operation, status) and flushed to the store, then kept per minute, hour and day.
/// </summary>
[BindingRules(typeof(Loading.UsageRules))]
public sealed record UsageConfig
{
    /// <summary>Record usage. It needs a store (<c>gatehouse run --store</c>), and is off without one.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>How often this node's rollups are written to the store; 1s to 5m.</summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How many request records wait between the request path and the aggregator. When it is full, records are dropped
    /// and counted (<c>gatehouse.usage.dropped</c>); a request never waits for it.
    /// </summary>
    [Minimum(1)]
    public int BufferSize { get; init; } = 65_536;

    /// <summary>
    /// Most distinct (application, plan, operation, status) rows held in memory while the store cannot take them;
    /// records of new rows past it are dropped and counted.
    /// </summary>
    [Minimum(1)]
    public int MaxPendingRows { get; init; } = 200_000;

    /// <summary>How long minute rollups are kept; at least 1h, and never longer than hour rollups.</summary>
    public TimeSpan KeepMinutes { get; init; } = TimeSpan.FromDays(7);

    /// <summary>How long hour rollups are kept; at least 1d, and never longer than day rollups.</summary>
    public TimeSpan KeepHours { get; init; } = TimeSpan.FromDays(90);

    /// <summary>How long day rollups are kept: a duration of at least 1d, or <c>forever</c>. A shorter one also shortens <c>keepHours</c> and <c>keepMinutes</c> to it.</summary>
    [BoundByRules("""{ "anyOf": [ { "const": "forever" }, { "type": "number", "minimum": 0 }, { "type": "string", "pattern": "^ *[0-9]+(\\.[0-9]+)? *(ms|s|m|h|d)? *$" }, { "type": "string", "pattern": "\\$\\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\\}" } ] }""")]
    [DocType("duration or `forever`")]
    [DefaultText("`forever`")]
    public TimeSpan? KeepDays { get; init; }
}
