namespace Gatehouse.Management.Nodes;

/// <summary>
/// A node id that another running process holds (<see cref="NodeLease.AcquireAsync"/>): the message is the one line the
/// <c>gatehouse</c> command prints before it exits with code 2.
/// </summary>
public sealed class NodeIdInUseException : Exception
{
    /// <summary>An exception whose message names the id, its holder, and <c>--node-id</c>.</summary>
    public NodeIdInUseException(string message)
        : base(message)
    {
    }

    /// <summary>An exception without a message.</summary>
    public NodeIdInUseException()
    {
    }

    /// <summary>An exception with a message and its cause.</summary>
    public NodeIdInUseException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
