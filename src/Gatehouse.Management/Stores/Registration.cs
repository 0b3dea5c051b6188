namespace Gatehouse.Management.Stores;

/// <summary>A target that registered itself for <paramref name="Service"/>, live until <paramref name="ExpiresAt"/>.</summary>
public sealed record Registration(string Service, string Url, string Owner, DateTimeOffset ExpiresAt);
