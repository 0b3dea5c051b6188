using System.Data.Common;

namespace Gatehouse.Management.Stores;

// Purges of the nodes' memory caches: an ordered log, written under a lock of its own from reading the last sequence
// number to commit, so a reader that saw sequence N has seen every purge up to N (no gaps filled in later).
internal abstract partial class SqlConfigStore : ICachePurgeStore
{
    /// <summary>The write lock of cache purges; by default the store's one write lock.</summary>
    protected virtual Task<DbTransaction> BeginCachePurgeWriteAsync(DbConnection connection, CancellationToken cancellationToken) =>
        BeginWriteAsync(connection, cancellationToken);

    /// <summary>Called inside a purge batch's transaction with its last sequence number, just before it commits. Default: nothing.</summary>
    protected virtual Task CachePurgesRecordingAsync(DbConnection connection, DbTransaction transaction, long seq, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    public virtual bool NotifiesCachePurges => false;

    public virtual Task ListenCachePurgesAsync(Action<long> recorded, StoreHealth health, CancellationToken stop) =>
        Task.Delay(Timeout.Infinite, stop).ContinueWith(_ => { }, TaskScheduler.Default);

    public async Task AddCachePurgesAsync(string node, IReadOnlyList<(string Route, string? Path)> purges, TimeSpan keep, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(purges);
        if (purges.Count == 0)
        {
            return;
        }

        var now = _clock.GetUtcNow().ToUnixTimeMilliseconds();
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await BeginCachePurgeWriteAsync(connection, cancellationToken).ConfigureAwait(false);
        var seq = ToLong(await ScalarAsync(connection, transaction, "SELECT COALESCE(MAX(seq), 0) FROM cache_purges", cancellationToken).ConfigureAwait(false));
        foreach (var (route, path) in purges)
        {
            await ExecuteAsync(connection, transaction, "INSERT INTO cache_purges (seq, at, node, route, path) VALUES (@seq, @at, @node, @route, @path)", cancellationToken,
                ("seq", ++seq), ("at", now), ("node", node), ("route", route), ("path", path)).ConfigureAwait(false);
        }

        // The newest row is never forgotten, so the next number never goes back to one a reader has seen.
        await ExecuteAsync(connection, transaction, "DELETE FROM cache_purges WHERE at < @cut AND seq < @seq", cancellationToken,
            ("cut", now - (long)keep.TotalMilliseconds), ("seq", seq)).ConfigureAwait(false);
        await CachePurgesRecordingAsync(connection, transaction, seq, cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<(IReadOnlyList<CachePurge> Purges, long Oldest)> ReadCachePurgesAsync(long after, int limit, CancellationToken cancellationToken = default)
    {
        CheckLimit(limit);
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        var purges = new List<CachePurge>();
        await using (var command = Command(connection, null, "SELECT seq, node, route, path FROM cache_purges WHERE seq > @after ORDER BY seq LIMIT @limit",
            ("after", after), ("limit", limit)))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                purges.Add(new CachePurge(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), NullableString(reader, 3)));
            }
        }

        // The oldest kept is read after the rows: a prune between the two can then only make a reader think it missed
        // purges it did not (one whole cache dropped too many), never the other way round.
        var oldest = ToLong(await ScalarAsync(connection, null, "SELECT COALESCE(MIN(seq), 0) FROM cache_purges", cancellationToken).ConfigureAwait(false));
        return (purges, oldest);
    }

    public async Task<long> NewestCachePurgeAsync(CancellationToken cancellationToken = default)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        return ToLong(await ScalarAsync(connection, null, "SELECT COALESCE(MAX(seq), 0) FROM cache_purges", cancellationToken).ConfigureAwait(false));
    }
}
