namespace Gatehouse.Management.Stores;

/// <summary>A gateway node as it last reported itself.</summary>
/// <param name="Revision">The config revision the node serves.</param>
/// <param name="Info">Free-form JSON the node reports (version, health).</param>
/// <param name="Instance">The process that holds the id (a random id each start makes); null for a row written without one.</param>
/// <param name="Clash">
/// JSON that another process wrote when it found the id held by this row's process (<c>{"instance","host","pid","at"}</c>);
/// null when none did since the id last changed hands.
/// </param>
public sealed record NodeInfo(string Id, long Revision, DateTimeOffset LastSeen, string Info, string? Instance = null, string? Clash = null);
