using System.Collections.Concurrent;

namespace Gatehouse.Client;

/// <summary>
/// Allowed decisions by (credential hash, operation), each valid until its expiry and for at most as many calls as
/// its limits had left, so a cache never lets one instance run past a limit; refusals are never cached.
/// </summary>
internal sealed class DecisionCache(TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);

    /// <summary>Takes one call from a live entry's budget; false when there is none (expired, used up, absent).</summary>
    public bool TryTake(string key, out Entry entry)
    {
        if (_entries.TryGetValue(key, out entry!) && entry.ExpiresTicks > time.GetUtcNow().UtcTicks && entry.TryTake())
        {
            return true;
        }

        return false;
    }

    public void Set(string key, GatehouseFeature feature, long budget, TimeSpan duration)
    {
        if (budget <= 0)
        {
            _entries.TryRemove(key, out _);
            return;
        }

        _entries[key] = new Entry(feature, (time.GetUtcNow() + duration).UtcTicks, budget);
        if (_entries.Count > 100_000)
        {
            // A flood of distinct credentials must not grow memory without bound; dropping entries only costs round-trips.
            _entries.Clear();
        }
    }

    internal sealed class Entry(GatehouseFeature feature, long expiresTicks, long budget)
    {
        private long _budget = budget;

        public GatehouseFeature Feature { get; } = feature;

        public long ExpiresTicks { get; } = expiresTicks;

        public bool TryTake() => Interlocked.Decrement(ref _budget) >= 0;
    }
}
