using System.Collections.Concurrent;
using Gatehouse.Gateway.Limiting.Cluster;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// Every application's counters, keyed by (application id, limit slot). Outlives config snapshots: a limit keeps
/// its slot across reloads as long as its key and period stay the same, so a reload does not hand out a fresh
/// monthly quota. Counters are created on an application's first request under a limit; <see cref="Sweep"/>, run
/// off the request path, drops the ones whose window has passed, so memory is bounded by the (application, limit)
/// pairs used in their current window.
/// </summary>
internal sealed class LimitCounters
{
    private readonly ConcurrentDictionary<string, int> _slots = new(StringComparer.Ordinal);
    // The name of each slot, for the counts kept across restarts (QuotaPersistence): slot numbers are not stable, names are.
    private readonly ConcurrentDictionary<int, (string Name, LimitPeriod Per)> _names = new();
    private readonly ConcurrentDictionary<(string App, int Slot), LimitCounter> _counters = new();
    private int _nextSlot;

    /// <summary>
    /// This node's side of the counter engine shared with other nodes; null when there is none, and then every limit
    /// counts per node. Set before the first snapshot is compiled: policies compiled without it count per node.
    /// </summary>
    public ClusterLimiter? Cluster { get; set; }

    /// <summary>Counters currently held.</summary>
    public int Count => _counters.Count;

    /// <summary>
    /// The slot of the limit of <paramref name="key"/> (stable across reloads, e.g. <c>plan:retail</c> or
    /// <c>plan:retail/op:users.getUser</c>) with period <paramref name="per"/> and <paramref name="mode"/>: a list may
    /// hold an enforced and a shadow limit of one period, and they count apart. Called when a snapshot is compiled.
    /// </summary>
    /// A cluster limit's slot has a name of its own (<c>…/cluster</c>): its counters are of another kind, and its count is
    /// the engine's, never the one kept in the store across restarts.
    public int SlotFor(string key, LimitPeriod per, LimitMode mode, bool cluster = false) =>
        SlotNamed(cluster ? $"{key}/{per}/{mode}/cluster" : $"{key}/{per}/{mode}", per);

    private int SlotNamed(string name, LimitPeriod per) =>
        _slots.GetOrAdd(name, static (name, state) =>
        {
            var slot = Interlocked.Increment(ref state.Self._nextSlot);
            state.Self._names[slot] = (name, state.Per);
            return slot;
        }, (Self: this, Per: per));

    /// <summary>
    /// Adds <paramref name="count"/> requests of <paramref name="app"/> in <paramref name="window"/> under the limit named
    /// <paramref name="name"/> (a count kept across a restart, loaded at start); added, so requests counted meanwhile stay.
    /// </summary>
    public void Seed(string app, string name, LimitPeriod per, uint window, int count)
    {
        var key = (app, SlotNamed(name, per));
        while (true)
        {
            var counter = _counters.GetOrAdd(key, static (_, per) => new LimitCounter(per), per);
            if (counter.Add(window, count))
            {
                return;
            }

            _counters.TryRemove(new KeyValuePair<(string, int), LimitCounter>(key, counter));
        }
    }

    /// <summary>Every quota counter (hour, day, month) with its limit's stable name, its window and its count there.</summary>
    public IEnumerable<(string App, string Name, LimitPeriod Per, uint Window, int Count)> Quotas()
    {
        foreach (var ((app, slot), counter) in _counters)
        {
            if (counter.Per >= LimitPeriod.Hour && counter is not ClusterCounter && !counter.IsRetired && _names.TryGetValue(slot, out var named))
            {
                var window = counter.Window;
                yield return (app, named.Name, counter.Per, window, counter.Count(window));
            }
        }
    }

    /// <summary>The counter of <paramref name="app"/> under <paramref name="policy"/>, created on first use.</summary>
    public LimitCounter Get(string app, LimitPolicy policy) =>
        _counters.GetOrAdd((app, policy.Slot), static (key, state) => state.Policy.IsCluster
            ? new ClusterCounter(state.Policy.Per, state.Self._names[key.Slot].Name + "|" + key.App, state.Policy.Sync)
            : new LimitCounter(state.Policy.Per), (Self: this, Policy: policy));

    /// <summary>
    /// The counter that replaces <paramref name="retired"/> (which the sweep retired after the caller got it): the retired
    /// one leaves the map if the sweep has not taken it out yet, and a new one is made, or the one another caller made.
    /// </summary>
    public LimitCounter Renew(string app, LimitPolicy policy, LimitCounter retired)
    {
        _counters.TryRemove(new KeyValuePair<(string, int), LimitCounter>((app, policy.Slot), retired));
        return Get(app, policy);
    }

    /// <summary>Every counter of a cluster limit (the cluster loop's round).</summary>
    public IEnumerable<ClusterCounter> ClusterCounters()
    {
        foreach (var entry in _counters)
        {
            if (entry.Value is ClusterCounter counter)
            {
                yield return counter;
            }
        }
    }

    /// <summary>
    /// Requests <paramref name="app"/> has made under <paramref name="policy"/> in the window of <paramref name="now"/>; for a
    /// cluster limit, this node's count plus the other nodes' as the engine last told it.
    /// </summary>
    public int Used(string app, LimitPolicy policy, DateTimeOffset now)
    {
        if (!_counters.TryGetValue((app, policy.Slot), out var counter))
        {
            return 0;
        }

        var window = LimitWindows.Index(policy.Per, now.UtcTicks);
        return counter is ClusterCounter shared ? (int)Math.Min((long)shared.Others(window) + counter.Count(window), int.MaxValue) : counter.Count(window);
    }

    /// <summary>
    /// Drops counters whose window ended before <paramref name="now"/>; returns how many. Each is retired first with one
    /// compare-and-swap (<see cref="LimitCounter.TryRetire"/>): a request that rolled it into the current window meanwhile
    /// keeps it, and one that still holds it afterwards finds it retired and counts in its replacement, so no request
    /// goes uncounted.
    /// </summary>
    public int Sweep(DateTimeOffset now)
    {
        var removed = 0;
        foreach (var entry in _counters)
        {
            // Window 0 is a counter made a moment ago and not counted in yet (made by a request or by the counts loaded at
            // start, which count into it right after): removed now, that count would go to an object nobody reads again.
            // The runtime sweeps once at start too, beside the first requests and the load: a restarted node lost the
            // counts it had loaded that way in CI (QuotaRestartTests). One is left until it has counted and its window passed.
            var window = entry.Value.Window;
            var current = LimitWindows.Index(entry.Value.Per, now.UtcTicks);
            if (window != 0 && window < current && entry.Value.TryRetire(current) && _counters.TryRemove(entry))
            {
                removed++;
            }
        }

        return removed;
    }
}
