using Gatehouse.Gateway.Limiting.Cluster;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// Decides whether an application's request fits its rate limits and quotas, and counts it when it does.
/// </summary>
/// <remarks>
/// <para>
/// Each enforced limit is taken in turn with a conditional increment (count only while under the limit, one
/// compare-and-swap on the counter). If one is full, the increments already made for this request are taken back
/// and it is denied, so a denied request consumes nothing. Every admitted request therefore holds one unit of every
/// enforced counter it passed, and no counter ever exceeds its limit: <b>at most N requests are admitted per
/// window, also under concurrency</b> (per node; see docs/limits.md). The price of the take-back is the other way
/// round: while a request holds a unit it is about to give back, a concurrent request can be denied although the
/// window had room, so under contention at most one request per concurrent caller can be denied early. The counter
/// sweep (<see cref="LimitCounters.Sweep"/>) retires a counter before it drops it, and a request that finds its counter
/// retired counts in the one that replaces it, so the sweep lets no request past N.
/// </para>
/// <para>
/// A limit counted across nodes (<see cref="LimitPolicy.IsCluster"/>) uses the same conditional increment on this node's
/// count, under a cap that <see cref="ClusterLimiter.Cap"/> gives: the units leased (strict), the limit less the other
/// nodes' last known count (fast), or the <c>onEngineDown</c> fallback. A strict limit whose lease is used up answers
/// a denied decision with <see cref="LimitDecision.Wait"/> set: the caller awaits the lease and decides again
/// (<c>AccessEngine.DecideAsync</c>), so a lease is the only engine call a request can wait for (docs/limits.md).
/// </para>
/// <para>
/// Shadow limits are checked after the enforced ones pass, counted the same way, and never deny: a request they
/// would deny is let through, counted on <see cref="LimitPolicy.ShadowDenials"/>, logged at Debug and reported in
/// <see cref="LimitDecision.WouldDeny"/>.
/// </para>
/// </remarks>
internal sealed partial class Limiter(LimitCounters counters, TimeProvider time, ILogger<Limiter>? logger = null)
{
    private const int StackWindows = 16;

    // Smaller leases are not fetched ahead: a quarter of them is nothing, and they are chosen to be close to exact.
    internal const int PrefetchMinimumLease = 4;
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    public LimitCounters Counters => counters;

    /// <summary>Checks and counts one request of <paramref name="app"/> at the time provider's now.</summary>
    public LimitDecision Check(string app, LimitSet set) => Check(app, set, time.GetUtcNow());

    /// <summary>Checks and counts one request of <paramref name="app"/> against every limit in <paramref name="set"/> at <paramref name="now"/>.</summary>
    public LimitDecision Check(string app, LimitSet set, DateTimeOffset now)
    {
        var policies = set.Policies;
        var ticks = now.UtcTicks;
        Span<uint> counted = policies.Length <= StackWindows ? stackalloc uint[StackWindows] : new uint[policies.Length];

        LimitPolicy? reported = null;
        long reportedRemaining = long.MaxValue;
        var reportedReset = 0;
        EngineDownAction? fallback = null;
        for (var i = 0; i < policies.Length; i++)
        {
            var p = policies[i];
            if (p.IsShadow)
            {
                continue;
            }

            var counter = counters.Get(app, p);
            long after, remaining;
            if (counter is ClusterCounter shared && counters.Cluster is { } cluster)
            {
                // Counted across nodes: this node's count stays under what it may admit now (its leases, or the limit less
                // what the other nodes used at the last sync, or its fallback while the engine is down).
                var window = LimitWindows.Index(p.Per, ticks);
                var cap = cluster.Cap(shared, p, window, out var down);
                fallback ??= down;
                after = counter.TryAcquire(window, cap, out counted[i]);
                if (after == LimitCounter.Retired)
                {
                    // The sweep retired it after Get: this policy again, with the counter that replaces it.
                    counters.Renew(app, p, counter);
                    i--;
                    continue;
                }

                if (after < 0)
                {
                    Release(app, policies, i, counted);
                    var denied = Denied(app, set, ticks, p, counted[i]) with { Fallback = fallback };
                    return down is null && shared.Sync == LimitSync.Strict && !shared.IsExhausted(counted[i], p.Requests)
                        ? denied with { Wait = cluster.LeaseAsync(shared, p, counted[i]) }
                        : denied;
                }

                remaining = Math.Max(0, down is null ? p.Requests - shared.Others(counted[i]) - after : Math.Min(cap, p.Requests) - after);

                // Strict: top the lease back up while a quarter of it is left, so that this node's requests do not all stop
                // and wait for the engine at the end of every lease (a denied decision, a round trip and a second decision
                // each). What the node holds unused stays within one lease (docs/limits.md, "The two modes and their bounds").
                if (down is null && shared.Sync == LimitSync.Strict && p.Lease >= PrefetchMinimumLease && cap - after <= p.Lease / 4
                    && !shared.IsExhausted(counted[i], p.Requests) && !shared.IsFetching(counted[i]))
                {
                    cluster.LeaseAhead(shared, p, counted[i]);
                }
            }
            else
            {
                after = counter.TryAcquire(LimitWindows.Index(p.Per, ticks), p.Requests, out counted[i]);
                if (after == LimitCounter.Retired)
                {
                    counters.Renew(app, p, counter);
                    i--;
                    continue;
                }

                if (after < 0)
                {
                    Release(app, policies, i, counted);
                    return Denied(app, set, ticks, p, counted[i]);
                }

                remaining = p.Requests - after;
            }

            var reset = LimitWindows.SecondsUntilEnd(p.Per, counted[i], ticks);
            if (remaining < reportedRemaining || (remaining == reportedRemaining && reset > reportedReset))
            {
                (reported, reportedRemaining, reportedReset) = (p, remaining, reset);
            }
        }

        LimitPolicy? wouldDeny = null;
        foreach (var p in policies)
        {
            if (p.IsShadow && AcquireShadow(app, p, LimitWindows.Index(p.Per, ticks)) < 0)
            {
                p.CountShadowDenial();
                wouldDeny ??= p;
                LogWouldDeny(_logger, app, p.Name, p.Requests);
            }
        }

        return new LimitDecision
        {
            Allowed = true,
            Set = set,
            Policy = reported,
            Remaining = reported is null ? 0 : reportedRemaining,
            ResetSeconds = reportedReset,
            WouldDeny = wouldDeny,
            Fallback = fallback,
        };
    }

    /// <summary>
    /// What <see cref="Check(string, LimitSet, DateTimeOffset)"/> would decide for one more request, counting nothing: for the authorize API, which
    /// answers "may it?" and leaves the counting to a later report.
    /// </summary>
    public LimitDecision Peek(string app, LimitSet set, DateTimeOffset now)
    {
        var ticks = now.UtcTicks;
        LimitPolicy? reported = null;
        long reportedRemaining = long.MaxValue;
        var reportedReset = 0;
        foreach (var p in set.Policies)
        {
            if (p.IsShadow)
            {
                continue;
            }

            var window = LimitWindows.Index(p.Per, ticks);
            var used = counters.Used(app, p, now);
            if (used >= p.Requests)
            {
                return Denied(app, set, ticks, p, window);
            }

            // As after a Check: what would be left once this request counted.
            var remaining = p.Requests - used - 1;
            var reset = LimitWindows.SecondsUntilEnd(p.Per, window, ticks);
            if (remaining < reportedRemaining || (remaining == reportedRemaining && reset > reportedReset))
            {
                (reported, reportedRemaining, reportedReset) = (p, remaining, reset);
            }
        }

        return new LimitDecision { Allowed = true, Set = set, Policy = reported, Remaining = reported is null ? 0 : reportedRemaining, ResetSeconds = reportedReset };
    }

    /// <summary>Counts <paramref name="n"/> requests that already happened in every limit of <paramref name="set"/>, full or not (usage reports).</summary>
    public void Add(string app, LimitSet set, int n, DateTimeOffset now)
    {
        foreach (var p in set.Policies)
        {
            var window = LimitWindows.Index(p.Per, now.UtcTicks);
            var counter = counters.Get(app, p);
            while (!counter.Add(window, n))
            {
                counter = counters.Renew(app, p, counter);
            }
        }
    }

    /// <summary>Counts one request of a shadow limit, in the counter that replaces its own if the sweep retired it.</summary>
    private long AcquireShadow(string app, LimitPolicy p, uint window)
    {
        var counter = counters.Get(app, p);
        long after;
        while ((after = counter.TryAcquire(window, p.Requests, out _)) == LimitCounter.Retired)
        {
            counter = counters.Renew(app, p, counter);
        }

        return after;
    }

    /// <summary>Takes back this request's units of the enforced policies before index <paramref name="end"/>.</summary>
    private void Release(string app, LimitPolicy[] policies, int end, ReadOnlySpan<uint> counted)
    {
        for (var j = 0; j < end; j++)
        {
            if (!policies[j].IsShadow)
            {
                counters.Get(app, policies[j]).Release(counted[j]);
            }
        }
    }

    /// <summary>The denial: the client must wait until every full enforced limit has rolled over.</summary>
    private LimitDecision Denied(string app, LimitSet set, long ticks, LimitPolicy full, uint fullWindow)
    {
        // The limit found full counts even if it rolls over (or a unit is given back) before the look below.
        var reported = full;
        var retryAfter = LimitWindows.SecondsUntilEnd(full.Per, fullWindow, ticks);
        foreach (var p in set.Policies)
        {
            if (p.IsShadow)
            {
                continue;
            }

            var window = LimitWindows.Index(p.Per, ticks);
            if (counters.Get(app, p).Count(window) >= p.Requests)
            {
                var reset = LimitWindows.SecondsUntilEnd(p.Per, window, ticks);
                if (reset > retryAfter)
                {
                    (reported, retryAfter) = (p, reset);
                }
            }
        }

        return new LimitDecision
        {
            Allowed = false,
            Set = set,
            Policy = reported,
            Remaining = 0,
            ResetSeconds = retryAfter,
            RetryAfterSeconds = retryAfter,
        };
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shadow limit '{Limit}' ({Requests} requests) would have denied a request of application {App}; let through")]
    private static partial void LogWouldDeny(ILogger logger, string app, string limit, int requests);
}
