namespace Gatehouse.Model.Config;

/// <summary>Where a limit counts: on each node by itself, or across every node that shares a counter engine.</summary>
public enum LimitScope
{
    /// <summary>Each node counts by itself: with three nodes a client can get three times the limit.</summary>
    Node,

    /// <summary>
    /// Every node sharing the counter engine (<c>gateway.limits.redis</c>, or the PostgreSQL store) counts against one
    /// limit, with the error bound of the limit's <c>sync</c> (docs/limits.md).
    /// </summary>
    Cluster,
}
