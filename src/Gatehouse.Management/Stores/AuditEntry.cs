namespace Gatehouse.Management.Stores;

/// <summary>One changed resource in one commit.</summary>
/// <param name="Action"><c>create</c>, <c>update</c>, <c>delete</c> or <c>rollback</c>.</param>
/// <param name="Before">The body before the change; null when the resource did not exist.</param>
/// <param name="After">The body after the change; null when the resource was deleted.</param>
public sealed record AuditEntry(
    long Id, DateTimeOffset At, string Actor, string Action, string Kind, string Name, long Revision, string? Before, string? After);
