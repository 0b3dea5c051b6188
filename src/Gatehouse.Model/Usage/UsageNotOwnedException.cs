namespace Gatehouse.Model.Usage;

/// <summary>
/// Thrown by a usage sink when this node's rows are not its to write: another running process holds its node id (two
/// nodes started with one <c>--node-id</c>). Rows are whole values, so writing them would replace the other process's
/// counts with this one's; the aggregator drops the rows instead and counts them (<c>reason="node_id_clash"</c>).
/// </summary>
public sealed class UsageNotOwnedException : Exception
{
    /// <summary>An exception whose message says which id is held by whom and how to fix it.</summary>
    public UsageNotOwnedException(string message)
        : base(message)
    {
    }

    /// <summary>An exception without a message.</summary>
    public UsageNotOwnedException()
    {
    }

    /// <summary>An exception with a message and its cause.</summary>
    public UsageNotOwnedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
