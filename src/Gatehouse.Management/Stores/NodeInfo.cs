namespace Gatehouse.Management.Stores;

/// <summary>A gateway node as it last reported itself.</summary>
/// <param name="Revision">The config revision the node serves.</param>
/// <param name="Info">Free-form JSON the node reports (version, health).</param>
public sealed record NodeInfo(string Id, long Revision, DateTimeOffset LastSeen, string Info);
