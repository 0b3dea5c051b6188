using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Limiting.Cluster;

/// <summary>
/// A count other than requests that nodes share through the counter engine: the model tokens of a <c>tokenLimits</c>
/// budget with <c>scope: cluster</c>. The cluster limiter's background round adds what each tally counted beyond what the
/// engine already holds from this node (for a <c>sync: fast</c> budget, everything since its last round; for a strict one,
/// only what calls used over their leases) and hands back the engine's total.
/// </summary>
internal interface IClusterTally
{
    /// <summary>The counter's name at the engine: the same on every node for the same limit and application.</summary>
    string EngineKey { get; }

    LimitPeriod Per { get; }

    /// <summary>What the engine does not have yet in the current window; false when there is nothing to add or read.</summary>
    bool TakeDelta(long nowTicks, out uint window, out long delta);

    /// <summary>The engine took <paramref name="added"/> and its counter now holds <paramref name="total"/>.</summary>
    void Answered(uint window, long added, long total);
}
