using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Nodes;

/// <summary>
/// A store-backed node's usage sink: the store's rollups, written only while this process holds its node id (checked
/// in each write's transaction, <see cref="NodeLease"/>). Once another process holds it, every write is refused with
/// <see cref="UsageNotOwnedException"/> without asking the store, and the aggregator drops and counts the rows.
/// </summary>
internal sealed class LeasedUsageSink(SqlConfigStore store, NodeLease lease) : IUsageSink, IAiUsageSink
{
    public Task<IReadOnlyList<UsageRow>> LoadAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default) =>
        store.LoadAsync(node, buckets, cancellationToken);

    public async Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default)
    {
        Check();
        if (!await store.WriteAsOwnerAsync(lease.Id, lease.Instance, rows, cancellationToken).ConfigureAwait(false))
        {
            await RefusedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) =>
        store.DeleteBeforeAsync(granularity, before, cancellationToken);

    public Task<IReadOnlyList<AiUsageRow>> LoadAiAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default) =>
        store.LoadAiAsync(node, buckets, cancellationToken);

    public async Task WriteAiAsync(IReadOnlyList<AiUsageRow> rows, CancellationToken cancellationToken = default)
    {
        Check();
        if (!await store.WriteAiAsOwnerAsync(lease.Id, lease.Instance, rows, cancellationToken).ConfigureAwait(false))
        {
            await RefusedAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public Task<int> DeleteAiBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) =>
        store.DeleteAiBeforeAsync(granularity, before, cancellationToken);

    private void Check()
    {
        if (lease.Holder is { } holder)
        {
            throw new UsageNotOwnedException(NodeLease.InUse(lease.Id, holder, TimeProvider.System));
        }
    }

    // The write found the id held by another process before the heartbeat did: the lease is lost from now on.
    private async Task RefusedAsync(CancellationToken cancellationToken)
    {
        var holder = (await store.ListNodesAsync(cancellationToken).ConfigureAwait(false)).FirstOrDefault(n => n.Id == lease.Id)
            ?? new NodeInfo(lease.Id, 0, DateTimeOffset.UtcNow, "{}");
        lease.Lose(holder);
        Check();
    }
}
