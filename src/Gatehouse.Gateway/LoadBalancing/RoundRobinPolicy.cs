using Gatehouse.Gateway.Upstreams;

namespace Gatehouse.Gateway.LoadBalancing;

/// <summary>
/// Weighted round robin: each available destination in turn, <see cref="Destination.Weight"/> times per cycle.
/// </summary>
/// <remarks>
/// The cycle is a precomputed schedule (smooth weighted round robin, as nginx does it, so a weight-3 destination
/// gets every third-ish request rather than three in a row) indexed by one Interlocked counter: no lock and no
/// allocation per pick. The schedule is rebuilt, once, the first time a new destinations array is seen;
/// <see cref="Upstream.SetDestinations"/> only swaps in a new array when the set really changed.
/// </remarks>
internal sealed class RoundRobinPolicy : ILoadBalancingPolicy
{
    /// <summary>Schedules longer than this (huge or coprime weights) are scaled down; shares stay within a few percent.</summary>
    internal const int MaxScheduleLength = 4096;

    private Schedule _schedule = Schedule.Empty;

    // 64 bits so the counter never wraps in practice (a 32-bit one would skew the cycle once every 4 billion picks).
    private ulong _next = ulong.MaxValue;

    public Destination? Pick(Destination[] destinations, long now)
    {
        var schedule = Volatile.Read(ref _schedule);
        if (!ReferenceEquals(schedule.Source, destinations))
        {
            // Racing threads may both build; the schedules are identical and the last write wins.
            schedule = Schedule.Build(destinations);
            Volatile.Write(ref _schedule, schedule);
        }

        var order = schedule.Order;
        var length = (ulong)order.Length;
        if (length == 0)
        {
            return null;
        }

        var d = order[(int)(Interlocked.Increment(ref _next) % length)];
        return d.IsAvailable(now) ? d : PickPastUnavailable(order, destinations, now);
    }

    /// <summary>Schedule order for a destination set; exposed for tests.</summary>
    internal static Destination[] BuildOrder(Destination[] destinations) => Schedule.Build(destinations).Order;

    private Destination? PickPastUnavailable(Destination[] order, Destination[] destinations, long now)
    {
        // A linear pass first, so that "everything is down" costs O(n) and not a cycle of Interlocked steps.
        var any = false;
        foreach (var d in destinations)
        {
            if (d.IsAvailable(now))
            {
                any = true;
                break;
            }
        }

        if (!any)
        {
            return null;
        }

        // Take further slots of the shared counter rather than scanning forward from the missed slot: the slots
        // of an unavailable destination then spread over the others in proportion to their weights, instead of
        // all going to whichever destination happens to follow it in the schedule.
        var length = (ulong)order.Length;
        for (var i = 0; i < order.Length; i++)
        {
            var d = order[(int)(Interlocked.Increment(ref _next) % length)];
            if (d.IsAvailable(now))
            {
                return d;
            }
        }

        // Other threads took the slots we needed, or the one available destination became so just now.
        foreach (var d in destinations)
        {
            if (d.IsAvailable(now))
            {
                return d;
            }
        }

        return null;
    }

    private sealed class Schedule(Destination[] source, Destination[] order)
    {
        public static readonly Schedule Empty = new([], []);

        public Destination[] Source { get; } = source;

        public Destination[] Order { get; } = order;

        public static Schedule Build(Destination[] destinations)
        {
            var n = destinations.Length;
            if (n == 0)
            {
                return new Schedule(destinations, []);
            }

            var weights = new long[n];
            long total = 0;
            long gcd = 0;
            for (var i = 0; i < n; i++)
            {
                weights[i] = destinations[i].Weight;
                total += weights[i];
                gcd = Gcd(gcd, weights[i]);
            }

            // 2:4:6 is the same cycle as 1:2:3, a third as long.
            for (var i = 0; i < n; i++)
            {
                weights[i] /= gcd;
            }

            total /= gcd;
            var cap = Math.Max(MaxScheduleLength, n);
            if (total > cap)
            {
                long scaled = 0;
                for (var i = 0; i < n; i++)
                {
                    weights[i] = Math.Max(1, weights[i] * cap / total);
                    scaled += weights[i];
                }

                total = scaled;
            }

            // Smooth weighted round robin: every step each destination gains its weight, the richest is chosen
            // and pays the total. Over a cycle each destination is chosen exactly weight times, interleaved.
            var order = new Destination[total];
            var current = new long[n];
            for (var k = 0; k < order.Length; k++)
            {
                var best = 0;
                for (var i = 0; i < n; i++)
                {
                    current[i] += weights[i];
                    if (current[i] > current[best])
                    {
                        best = i;
                    }
                }

                current[best] -= total;
                order[k] = destinations[best];
            }

            return new Schedule(destinations, order);
        }

        private static long Gcd(long a, long b)
        {
            while (b != 0)
            {
                (a, b) = (b, a % b);
            }

            return a;
        }
    }
}
