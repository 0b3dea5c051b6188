using Gatehouse.Gateway.Upstreams;

namespace Gatehouse.Gateway.LoadBalancing;

/// <summary>Each available destination in turn.</summary>
internal sealed class RoundRobinPolicy : ILoadBalancingPolicy
{
    private uint _next;

    public Destination? Pick(Destination[] destinations, long now)
    {
        var n = destinations.Length;
        if (n == 0)
        {
            return null;
        }

        var start = (int)(Interlocked.Increment(ref _next) % (uint)n);
        for (var i = 0; i < n; i++)
        {
            var d = destinations[(start + i) % n];
            if (d.IsAvailable(now))
            {
                return d;
            }
        }

        return null;
    }
}
