namespace Gatehouse.Management.Stores;

/// <summary>What a commit or a rollback did.</summary>
/// <param name="Conflict">True when the store's current revision was not the expected one; nothing was written.</param>
/// <param name="Changed">True when a new revision was created.</param>
/// <param name="Revision">The new revision when <paramref name="Changed"/>; otherwise the store's current revision.</param>
public sealed record CommitResult(bool Conflict, bool Changed, long Revision)
{
    internal static CommitResult Conflicted(long current) => new(true, false, current);

    internal static CommitResult Unchanged(long current) => new(false, false, current);

    internal static CommitResult Committed(long revision) => new(false, true, revision);
}
