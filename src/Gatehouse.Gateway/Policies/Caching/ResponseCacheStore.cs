using System.Collections.Concurrent;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.Gateway.Policies.Caching;

/// <summary>
/// Where cached responses live: <see cref="MemoryCache"/> with a size bound (the total of the entries' sizes; the
/// least recently used are compacted away when it is reached). It outlives snapshots, so a reload does not empty it;
/// keys carry the route's fingerprint, so a changed route never serves what its old form cached. Purges drop a
/// route's entries (all of them, or one path's).
/// </summary>
internal sealed class ResponseCacheStore : IDisposable
{
    private readonly MemoryCache _cache;
    private readonly ConcurrentDictionary<string, CancellationTokenSource> _routes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _refreshing = new(StringComparer.Ordinal);

    public ResponseCacheStore(ResponseCacheConfig config)
    {
        Config = config;
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = config.Size, CompactionPercentage = 0.25 });
    }

    public ResponseCacheConfig Config { get; }

    public CachedResponse? Get(string key) => _cache.TryGetValue(key, out var value) ? (CachedResponse?)value : null;

    /// <summary>Keeps <paramref name="response"/> under <paramref name="key"/> until its last usable moment.</summary>
    public void Set(string route, string key, CachedResponse response, DateTimeOffset now)
    {
        var until = new[] { response.FreshUntil, response.RevalidateUntil, response.ErrorUntil }.Max();
        if (until <= now)
        {
            return;
        }

        var purge = _routes.GetOrAdd(route, _ => new CancellationTokenSource());
        using var entry = _cache.CreateEntry(key);
        entry.Value = response;
        entry.Size = response.Size;
        entry.AbsoluteExpirationRelativeToNow = until - now;
        entry.AddExpirationToken(new CancellationChangeToken(purge.Token));
    }

    /// <summary>Claims the refresh of a stale entry; false when another request is already refreshing it.</summary>
    public bool TryBeginRefresh(string key) => _refreshing.TryAdd(key, 0);

    public void EndRefresh(string key) => _refreshing.TryRemove(key, out _);

    /// <summary>Drops every entry of <paramref name="route"/>, or only those of request path <paramref name="path"/>; returns how many.</summary>
    public int Purge(string route, string? path)
    {
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

        var prefix = CacheKeys.RoutePrefix(route);
        var removed = 0;
        foreach (var key in _cache.Keys.OfType<string>().ToList())
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal) && CacheKeys.PathOf(key) == path)
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
        foreach (var cts in _routes.Values)
        {
            cts.Dispose();
        }
    }
}
