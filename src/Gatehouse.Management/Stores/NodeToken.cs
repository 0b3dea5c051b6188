namespace Gatehouse.Management.Stores;

/// <summary>A node token as listed: its name, when it was issued, and the node id it is bound to (null until its first use). The token itself is never kept, only its SHA-256.</summary>
public sealed record NodeToken(string Name, DateTimeOffset CreatedAt, string? Node = null);
