namespace Gatehouse.Management.Stores;

/// <summary>A node token as listed: its name and when it was issued (the token itself is never kept, only its SHA-256).</summary>
public sealed record NodeToken(string Name, DateTimeOffset CreatedAt);
