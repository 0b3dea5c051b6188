using Gatehouse.Gateway.Upstreams;

namespace Gatehouse.Gateway.LoadBalancing;

/// <summary>
/// <c>loadBalancing: hash</c>: weighted rendezvous (highest random weight) hashing. Each available destination scores the
/// request's key mixed with the destination's own seed; the highest score wins. The same key goes to the same destination
/// on every node (the seeds come from the destinations' addresses, not from anything of one process), and a destination
/// that goes away or comes back moves only the keys that score highest on it: the others stay where they were.
/// </summary>
/// <remarks>
/// Written here rather than taken from a package: nothing served does rendezvous hashing, and it is a few lines. A ring
/// (Ketama, as nginx and Kong do it) needs a table rebuilt on every change of the destinations and weights, which a
/// reload, DNS discovery or a health change would pay; rendezvous needs none, at O(destinations) per pick, which for the
/// tens of destinations a service has is a few nanoseconds each. With weights, the score is <c>-weight / ln(u)</c>
/// (u the mixed hash in (0, 1)), which gives each destination a share proportional to its weight (Schindelhauer and
/// Schomaker, "Weighted distributed hash tables", 2005).
/// </remarks>
internal sealed class HashPolicy : ILoadBalancingPolicy
{
    // A request without a key is spread as round robin does it.
    private readonly RoundRobinPolicy _fallback = new();

    public Destination? Pick(Destination[] destinations, long now) => _fallback.Pick(destinations, now);

    /// <summary>The available destination that <paramref name="key"/> scores highest on; null when none is available.</summary>
    public static Destination? Pick(Destination[] destinations, long now, ulong key)
    {
        Destination? best = null;
        var weighted = false;
        foreach (var d in destinations)
        {
            if (d.Weight != destinations[0].Weight)
            {
                weighted = true;
                break;
            }
        }

        if (!weighted)
        {
            // Equal weights: the highest mixed hash wins; no logarithm needed.
            var top = 0UL;
            foreach (var d in destinations)
            {
                var score = Mix(key ^ d.HashSeed);
                if (d.IsAvailable(now) && (best is null || score > top))
                {
                    (best, top) = (d, score);
                }
            }

            return best;
        }

        var highest = double.NegativeInfinity;
        foreach (var d in destinations)
        {
            if (!d.IsAvailable(now))
            {
                continue;
            }

            // u in (0, 1): the top 53 bits, offset by half a step so that neither end is reached.
            var u = ((Mix(key ^ d.HashSeed) >> 11) + 0.5) / (1UL << 53);
            var score = -d.Weight / Math.Log(u);
            if (score > highest)
            {
                (best, highest) = (d, score);
            }
        }

        return best;
    }

    // SplitMix64's finalizer: every bit of the input moves every bit of the output, so keys that differ in one bit (and
    // destinations whose seeds do) score independently.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
