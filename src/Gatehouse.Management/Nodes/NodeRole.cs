namespace Gatehouse.Management.Nodes;

/// <summary>What one <c>gatehouse run</c> process serves (<c>--role</c>); one binary, three roles.</summary>
public enum NodeRole
{
    /// <summary>Public traffic, the admin API and the portal in one process: the default, and what a single node runs.</summary>
    Both,

    /// <summary>The admin API, the portal and the node API; no public listener and no gateway.</summary>
    Control,

    /// <summary>Public traffic only (and <c>/ready</c>, <c>/live</c>); no admin API, no portal.</summary>
    Data,
}
