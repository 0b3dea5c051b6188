namespace Gatehouse.Model.Limits;

/// <summary>
/// The counter engine that gateway nodes share for limits with <c>scope: cluster</c> (docs/limits.md): Redis, or the
/// PostgreSQL store. The gateway calls it off the request path (fast limits, a background loop) or once per lease of
/// many requests or tokens (strict limits), never once per request. Every call is one atomic step on the engine's side.
/// </summary>
public interface ILimitEngine
{
    /// <summary>What the engine is, for logs and metrics (<c>redis</c>, <c>postgresql</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Reserves up to <paramref name="want"/> units of <paramref name="key"/> in <paramref name="window"/>, never taking its
    /// count past <paramref name="limit"/>: grants min(want, limit − count), at least 0, in one atomic step.
    /// <paramref name="expires"/> is when the engine may forget the counter.
    /// </summary>
    Task<LeaseGrant> ReserveAsync(string key, uint window, long want, long limit, DateTimeOffset expires, CancellationToken cancellationToken);

    /// <summary>
    /// Adds each delta to its counter, whatever the limit (counts that already happened), in one round trip, and returns
    /// each counter's total after the add, in order. A delta of 0 reads the total.
    /// </summary>
    Task<long[]> AddAsync(IReadOnlyList<CounterDelta> deltas, CancellationToken cancellationToken);

    /// <summary>Records that <paramref name="node"/> is alive at <paramref name="now"/>; returns how many nodes were seen in the last 10 seconds.</summary>
    Task<int> HeartbeatAsync(string node, DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>What <see cref="ILimitEngine.ReserveAsync"/> granted, and the counter's total after it.</summary>
public readonly record struct LeaseGrant(long Granted, long Total);

/// <summary>A count to add to a counter of the engine (see <see cref="ILimitEngine.AddAsync"/>).</summary>
public readonly record struct CounterDelta(string Key, uint Window, long Delta, DateTimeOffset Expires);
