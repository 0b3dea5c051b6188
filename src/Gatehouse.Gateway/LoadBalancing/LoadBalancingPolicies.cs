using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.LoadBalancing;

/// <summary>Creates the policy object for a configured <see cref="LoadBalancingPolicy"/>.</summary>
internal static class LoadBalancingPolicies
{
    /// <summary>A new policy instance; policies keep per-upstream state (counters, schedules), so never share one.</summary>
    public static ILoadBalancingPolicy Create(LoadBalancingPolicy policy) => policy switch
    {
        LoadBalancingPolicy.RoundRobin => new RoundRobinPolicy(),
        LoadBalancingPolicy.LeastRequests => new LeastRequestsPolicy(),
        LoadBalancingPolicy.PowerOfTwoChoices => new PowerOfTwoChoicesPolicy(),
        LoadBalancingPolicy.Hash => new HashPolicy(),
        _ => throw new ArgumentOutOfRangeException(nameof(policy), policy, "Unknown load-balancing policy."),
    };
}
