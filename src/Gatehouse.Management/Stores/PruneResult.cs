namespace Gatehouse.Management.Stores;

/// <summary>What <see cref="IConfigStore.PruneAsync"/> removed: the store's revision, the oldest one it still keeps, and the rows gone.</summary>
public sealed record PruneResult(long Current, long Oldest, int Revisions, int Resources, int Audit)
{
    /// <summary>Entries of the consumer change log removed (with the audit entries' age).</summary>
    public int ConsumerChanges { get; init; }

    /// <summary>Deleted applications' rows removed with them.</summary>
    public int Tombstones { get; init; }
}

/// <summary>A read of a revision older than the store keeps (<see cref="IConfigStore.PruneAsync"/> removed it).</summary>
public sealed class RevisionPrunedException(long revision, long oldest)
    : ArgumentOutOfRangeException(nameof(revision), revision, $"Revision {revision} was pruned; the store keeps revisions {oldest} and later.")
{
    /// <summary>The oldest revision the store keeps.</summary>
    public long Oldest { get; } = oldest;
}
