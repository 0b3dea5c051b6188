using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.LoadBalancing;

/// <summary>Creates the policy object for a configured <see cref="LoadBalancingPolicy"/>.</summary>
internal static class LoadBalancingPolicies
{
    public static ILoadBalancingPolicy Create(LoadBalancingPolicy policy) => policy switch
    {
        _ => new RoundRobinPolicy(),
    };
}
