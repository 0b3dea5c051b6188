namespace Gatehouse.Management.Stores;

/// <summary>One purge of a route's cached answers (all of them, or those of one request path), as a node recorded it.</summary>
/// <param name="Seq">Its place in the store's order of purges.</param>
/// <param name="Node">The node that took it (and has dropped the answers already).</param>
/// <param name="Route">The route's id.</param>
/// <param name="Path">The request path, or null for every answer of the route.</param>
internal sealed record CachePurge(long Seq, string Node, string Route, string? Path);

/// <summary>
/// Where nodes sharing a store pass each other the purges of their memory caches (<c>CachePurgeBroadcast</c>): a purge
/// through one node's admin API, or an unsafe request's invalidation on one node, reaches the others.
/// </summary>
internal interface ICachePurgeStore
{
    /// <summary>How long purges are kept for nodes that were away (a node away longer drops its whole cache).</summary>
    static readonly TimeSpan Keep = TimeSpan.FromHours(1);

    /// <summary>
    /// Records <paramref name="purges"/> taken by <paramref name="node"/>, in order, and forgets those older than
    /// <paramref name="keep"/>; on PostgreSQL it notifies the other nodes at commit.
    /// </summary>
    Task AddCachePurgesAsync(string node, IReadOnlyList<(string Route, string? Path)> purges, TimeSpan keep, CancellationToken cancellationToken = default);

    /// <summary>
    /// The purges after <paramref name="after"/> (at most <paramref name="limit"/>, oldest first) and the oldest sequence
    /// number still kept (0 when none is): a reader whose last one is older than that one less one has missed some.
    /// </summary>
    Task<(IReadOnlyList<CachePurge> Purges, long Oldest)> ReadCachePurgesAsync(long after, int limit, CancellationToken cancellationToken = default);

    /// <summary>The newest purge's sequence number, 0 when there is none.</summary>
    Task<long> NewestCachePurgeAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Calls <paramref name="recorded"/> as soon as any process records a purge, where the store can say so (PostgreSQL's
    /// <c>LISTEN/NOTIFY</c>), until <paramref name="stop"/>; a store that cannot waits for the stop (it is polled).
    /// </summary>
    Task ListenCachePurgesAsync(Action<long> recorded, StoreHealth health, CancellationToken stop);

    /// <summary>True when <see cref="ListenCachePurgesAsync"/> hears purges (polling can then be slower).</summary>
    bool NotifiesCachePurges { get; }
}
