using System.Collections.Concurrent;
using System.Text;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.Gateway.Policies.Caching;

/// <summary>
/// Where cached responses live: <see cref="MemoryCache"/> with a size bound (the total of the entries' sizes; the
/// least recently used are compacted away when it is reached). It outlives snapshots, so a reload does not empty it;
/// keys carry the route's fingerprint, so a changed route never serves what its old form cached. Purges drop a
/// route's entries (all of them, or one path's). With <c>gateway.cache.redis</c> the entries live in Redis instead
/// (<see cref="RedisResponseCache"/>), shared by every node; only the claims of stale refreshes stay per node.
/// </summary>
internal sealed class ResponseCacheStore : IDisposable
{
    private readonly MemoryCache _cache;
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _refreshing = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _filling = new(StringComparer.Ordinal);

    // The keys held per (route, path): a purge of one path, which every write through the gateway makes (RFC 9111 §4.4
    // invalidation), removes those entries without walking every key of the cache. Kept under its own lock by the writes
    // of the cache and its evictions, never by a lookup.
    private readonly Dictionary<string, HashSet<string>> _paths = new(StringComparer.Ordinal);
    private static readonly PostEvictionDelegate Evicted = (key, _, reason, state) => ((ResponseCacheStore)state!).Unindex((string)key, reason);

    private readonly RedisResponseCache? _redis;

    public ResponseCacheStore(ResponseCacheConfig config, ILogger? log = null)
    {
        Config = config;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = config.Size, CompactionPercentage = 0.25 });
        if (config.Redis is { } redis)
        {
            _redis = new RedisResponseCache(redis, config.Timeout, log ?? NullLogger.Instance);
        }
    }

    public ResponseCacheConfig Config { get; }

    /// <summary>True when the entries are in Redis, shared by every node.</summary>
    public bool Shared => _redis is not null;

    /// <summary>The entry under <paramref name="key"/>, or null (also when the shared store does not answer: a miss).</summary>
    public ValueTask<CachedResponse?> GetAsync(string key) =>
        _redis is { } redis ? redis.GetAsync(key) : new(_cache.TryGetValue(key, out var value) ? (CachedResponse?)value : null);

    /// <summary>Keeps <paramref name="response"/> under <paramref name="key"/> until its last usable moment.</summary>
    public void Set(string route, string key, CachedResponse response, DateTimeOffset now)
    {
        var until = new[] { response.FreshUntil, response.RevalidateUntil, response.ErrorUntil }.Max();
        if (until <= now)
        {
            return;
        }

        if (_redis is { } redis)
        {
            redis.Set(key, response, until - now);
            return;
        }

        var purge = _routes.GetOrAdd(route, _ => new CancellationTokenSource());
        using (var entry = _cache.CreateEntry(key))
        {
            entry.Value = response;
            entry.Size = response.Size;
            entry.AbsoluteExpirationRelativeToNow = until - now;
            entry.AddExpirationToken(new CancellationChangeToken(purge.Token));
            entry.RegisterPostEvictionCallback(Evicted, this);
        }

        // Indexed once the entry is in (Unindex checks the cache): an eviction of the key's previous entry that runs late
        // cannot drop the new one from the index.
        var path = PathIndexKey(route, CacheKeys.PathOf(key) ?? "");
        lock (_paths)
        {
            if (!_paths.TryGetValue(path, out var keys))
            {
                _paths[path] = keys = new HashSet<string>(StringComparer.Ordinal);
            }

            keys.Add(key);
        }
    }

    private void Unindex(string key, EvictionReason reason)
    {
        if (reason == EvictionReason.Replaced)
        {
            return; // the key holds a newer entry, indexed already
        }

        var path = PathIndexKey(CacheKeys.PartOf(key, 0) ?? "", CacheKeys.PathOf(key) ?? "");
        lock (_paths)
        {
            if (_cache.TryGetValue(key, out _) || !_paths.TryGetValue(path, out var keys))
            {
                return; // set again since
            }

            keys.Remove(key);
            if (keys.Count == 0)
            {
                _paths.Remove(path);
            }
        }
    }

    private static string PathIndexKey(string route, string path) => CacheKeys.Part(CacheKeys.Part(new StringBuilder(), route), path).ToString();

    /// <summary>Claims the refresh of a stale entry; false when another request is already refreshing it.</summary>
    public bool TryBeginRefresh(string key) => _refreshing.TryAdd(key, 0);

    public void EndRefresh(string key) => _refreshing.TryRemove(key, out _);

    /// <summary>
    /// <c>collapse</c>: claims the fetch of a missing entry (true), or gives the task that ends when the request that
    /// claimed it has finished (false), kept or not.
    /// </summary>
    public bool TryBeginFill(string key, out Task filling)
    {
        var mine = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var claimed = _filling.GetOrAdd(key, mine);
        filling = claimed.Task;
        return ReferenceEquals(claimed, mine);
    }

    /// <summary>Ends the fetch claimed by <see cref="TryBeginFill"/>: the requests waiting for it look again.</summary>
    public void EndFill(string key)
    {
        if (_filling.TryRemove(key, out var claimed))
        {
            claimed.TrySetResult();
        }
    }

    /// <summary>
    /// Drops every entry of <paramref name="route"/>, or only those of request path <paramref name="path"/>; returns how
    /// many, or null from the shared store (which does not count them: they are orphaned by an epoch, on every node at
    /// once). Throws <see cref="CacheStoreDownException"/> when the shared store did not take the purge.
    /// </summary>
    public async Task<int?> PurgeAsync(string route, string? path, CancellationToken cancellationToken = default)
    {
        if (_redis is { } redis)
        {
            await redis.PurgeAsync(route, path, cancellationToken).ConfigureAwait(false);
            return null;
        }

        if (path is null)
        {
            var count = CountKeys(CacheKeys.RoutePrefix(route));
            if (_routes.TryRemove(route, out var cts))
            {
                cts.Cancel();
                cts.Dispose();
            }

            _cache.Compact(0);
            return count;
        }

        return PurgePath(route, path);
    }

    /// <summary>
    /// An unsafe request's invalidation (<see cref="CacheInvalidation"/>): drops <paramref name="route"/>'s entries of
    /// request path <paramref name="path"/>, as a purge does. A shared store that does not take it counts and logs the
    /// failure (<c>operation: invalidate</c>) rather than throw: the service has made its change either way.
    /// </summary>
    public ValueTask InvalidateAsync(string route, string path)
    {
        if (_redis is { } redis)
        {
            return new(redis.InvalidateAsync(route, path));
        }

        PurgePath(route, path);
        Invalidated?.Invoke(route, path);
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Told of every unsafe request's invalidation of this node's memory (never of the shared store's, which every node
    /// reads): a node sharing a store with others passes it on to them (<c>CachePurgeBroadcast</c>). Must not block.
    /// </summary>
    public Action<string, string>? Invalidated { get; set; }

    /// <summary>
    /// Drops every entry in this node's memory, of every route: for a node that was cut off from the purges of the others
    /// for longer than they are kept, and cannot tell which it missed. Nothing for the shared store.
    /// </summary>
    public void PurgeAll()
    {
        if (_redis is not null)
        {
            return;
        }

        foreach (var route in _routes.Keys)
        {
            if (_routes.TryRemove(route, out var cts))
            {
                cts.Cancel();
                cts.Dispose();
            }
        }

        _cache.Compact(0);
    }

    private int PurgePath(string route, string path)
    {
        HashSet<string>? keys;
        lock (_paths)
        {
            _paths.Remove(PathIndexKey(route, path), out keys);
        }

        if (keys is null)
        {
            return 0;
        }

        var removed = 0;
        foreach (var key in keys)
        {
            if (_cache.TryGetValue(key, out _))
            {
                _cache.Remove(key);
                removed++;
            }
        }

        return removed;
    }

    private int CountKeys(string prefix) => _cache.Keys.OfType<string>().Count(k => k.StartsWith(prefix, StringComparison.Ordinal));

    /// <summary>Entries held now.</summary>
    public int Count => _cache.Count;

    public void Dispose()
    {
        _cache.Dispose();
        _redis?.Dispose();
        foreach (var cts in _routes.Values)
        {
            cts.Dispose();
        }
    }
}
