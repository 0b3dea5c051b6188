using Gatehouse.Gateway.Upstreams;

namespace Gatehouse.Gateway.LoadBalancing;

/// <summary>The available destination with the fewest requests in flight (<see cref="Destination.Outstanding"/>).</summary>
/// <remarks>
/// O(n) per pick, which is what it costs to know the minimum; use <see cref="PowerOfTwoChoicesPolicy"/> for
/// services with many destinations. The counts are read without a snapshot, so two concurrent picks can both
/// choose the same idle destination: the usual, accepted imprecision of this policy.
/// </remarks>
internal sealed class LeastRequestsPolicy : ILoadBalancingPolicy
{
    private uint _start;

    public Destination? Pick(Destination[] destinations, long now)
    {
        var n = destinations.Length;
        if (n == 0)
        {
            return null;
        }

        // Start the scan at a rotating offset: ties (most often "all idle", at low load) then spread over the
        // destinations instead of all going to the first one.
        var start = (int)(Interlocked.Increment(ref _start) % (uint)n);
        Destination? best = null;
        var fewest = int.MaxValue;
        for (var i = 0; i < n; i++)
        {
            var index = start + i;
            var d = destinations[index < n ? index : index - n];
            if (!d.IsAvailable(now))
            {
                continue;
            }

            var outstanding = d.Outstanding;
            if (outstanding < fewest)
            {
                best = d;
                fewest = outstanding;
                if (outstanding == 0)
                {
                    break;
                }
            }
        }

        return best;
    }
}
