namespace Gatehouse.Model.Config;

/// <summary>How the nodes of a <c>scope: cluster</c> limit agree on its count (docs/limits.md, "Limits across nodes").</summary>
public enum LimitSync
{
    /// <summary>
    /// Each node reserves budget from the counter engine in leases and admits only what it holds: the cluster never
    /// admits more than the limit; it can admit up to nodes × (lease − 1) fewer.
    /// </summary>
    Strict,

    /// <summary>
    /// Each node counts locally and adds its count to the engine every <c>gateway.limits.syncInterval</c>, learning the
    /// others' counts back: no wait on any request, and the cluster can admit up to (total rate × (syncInterval + δ)) more.
    /// </summary>
    Fast,
}
