using Gatehouse.Gateway.Upstreams;

namespace Gatehouse.Gateway.LoadBalancing;

/// <summary>
/// Two distinct available destinations at random; the one with fewer requests in flight wins. Close to
/// least-requests in effect, O(1) per pick, and without the herding of every picker onto the same idle one.
/// </summary>
internal sealed class PowerOfTwoChoicesPolicy : ILoadBalancingPolicy
{
    public Destination? Pick(Destination[] destinations, long now)
    {
        var n = destinations.Length;
        if (n == 0)
        {
            return null;
        }

        if (n == 1)
        {
            return destinations[0].IsAvailable(now) ? destinations[0] : null;
        }

        // Random.Shared is thread-safe (per-thread state) and does not allocate.
        var random = Random.Shared;
        var i = random.Next(n);
        var j = random.Next(n - 1);
        if (j >= i)
        {
            j++;
        }

        var a = destinations[i];
        var b = destinations[j];
        if (a.IsAvailable(now) && b.IsAvailable(now))
        {
            return Better(a, b);
        }

        // Some destinations are out: draw the two among the available ones only, so that a destination next to
        // an unavailable one does not inherit its share.
        return PickAmongAvailable(destinations, now, random);
    }

    private static Destination? PickAmongAvailable(Destination[] destinations, long now, Random random)
    {
        var available = 0;
        foreach (var d in destinations)
        {
            if (d.IsAvailable(now))
            {
                available++;
            }
        }

        if (available == 0)
        {
            return null;
        }

        var first = random.Next(available);
        var second = first;
        if (available > 1)
        {
            second = random.Next(available - 1);
            if (second >= first)
            {
                second++;
            }
        }

        Destination? a = null;
        Destination? b = null;
        var rank = 0;
        foreach (var d in destinations)
        {
            // Availability can change between the passes; a destination that went down in between is skipped
            // and one that came up is simply not counted, so the result is still an available destination.
            if (!d.IsAvailable(now))
            {
                continue;
            }

            if (rank == first)
            {
                a = d;
            }

            if (rank == second)
            {
                b = d;
            }

            rank++;
        }

        return a is null ? b : b is null ? a : Better(a, b);
    }

    private static Destination Better(Destination a, Destination b) => b.Outstanding < a.Outstanding ? b : a;
}
