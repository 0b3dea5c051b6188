using Gatehouse.Gateway.Upstreams;

namespace Gatehouse.Gateway.LoadBalancing;

/// <summary>Chooses the destination for one request. Implementations are lock-free and allocation-free.</summary>
internal interface ILoadBalancingPolicy
{
    /// <summary>
    /// Returns a destination of <paramref name="destinations"/> for which
    /// <see cref="Destination.IsAvailable"/>(<paramref name="now"/>) is true, or null when there is none.
    /// </summary>
    Destination? Pick(Destination[] destinations, long now);
}
