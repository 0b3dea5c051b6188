namespace Gatehouse.Management.Stores;

/// <summary>How one resource differs between two revisions.</summary>
/// <param name="Before">The body in the "from" revision; null when the resource was created.</param>
/// <param name="After">The body in the "to" revision; null when the resource was deleted.</param>
public sealed record ResourceDiff(string Kind, string Name, ResourceDiffKind Change, string? Before, string? After);

/// <summary>The kind of difference in a <see cref="ResourceDiff"/>.</summary>
public enum ResourceDiffKind
{
    Created,
    Updated,
    Deleted,
}
