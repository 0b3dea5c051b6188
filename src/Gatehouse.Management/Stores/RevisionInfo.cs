namespace Gatehouse.Management.Stores;

/// <summary>One committed revision: who made it, when, and why.</summary>
public sealed record RevisionInfo(long Number, DateTimeOffset CreatedAt, string Actor, string Summary);
