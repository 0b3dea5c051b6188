using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// <c>gateway.limits</c>: the counter engine that <c>scope: cluster</c> limits share across nodes (docs/limits.md). The
/// engine is Redis when <see cref="Redis"/> is set, otherwise the PostgreSQL store of <c>gatehouse run --store
/// postgres://…</c>; a SQLite store or no store has no engine, and every limit counts per node. Read at start.
/// </summary>
public sealed record ClusterLimitsConfig
{
    /// <summary>
    /// Redis as the counter engine: <c>redis://[:password@]host:port[/db]</c>, or a StackExchange.Redis configuration
    /// string (<c>host:port,password=…</c>). Write <c>${REDIS_URL}</c> so the password stays in each node's environment.
    /// </summary>
    [NonEmpty]
    [DocType("URL")]
    [DefaultText("none (the PostgreSQL store, if any)")]
    public string? Redis { get; init; }

    /// <summary>
    /// How often a node adds its local counts of <c>sync: fast</c> limits to the engine and reads the others' back, and
    /// how often it retries an engine that is down. The bound of a fast limit grows with it.
    /// </summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// The longest a request waits for a lease (strict limits) before the engine counts as down and the limit falls
    /// back to its <c>onEngineDown</c>.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The number of nodes that <c>onEngineDown: share</c> divides a limit by. By default the nodes seen by the engine in
    /// the last 10 seconds (each node reports itself there every second), as last known before the outage.
    /// </summary>
    [Minimum(1)]
    [DefaultText("the nodes seen by the engine")]
    public int? Nodes { get; init; }
}
