using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Tests.Stores;

// Pruning the history: the newest revisions stay whole, older ones are refused by name, the current config is untouched.
public abstract partial class ConfigStoreTests
{
    [Fact]
    public async Task Prune_KeepsTheNewestRevisionsWhole_RefusesOlderOnes_AndLeavesTheCurrentConfig()
    {
        // Six revisions: a plan changed each time, one kept from the first, one deleted, one added late.
        await Store.CommitAsync([Set("plan", "retail", "1"), Set("plan", "forever", "\"f\""), Set("plan", "gone", "\"g\"")], 0, "a", "r1");
        for (var n = 2; n <= 5; n++)
        {
            await Store.CommitAsync([Set("plan", "retail", $"{n}")], n - 1, "a", $"r{n}");
        }

        await Store.CommitAsync([Delete("plan", "gone"), Set("plan", "late", "\"l\"")], 5, "a", "r6");
        var before = new Dictionary<long, IReadOnlyList<StoredResource>>();
        for (var n = 4; n <= 6; n++)
        {
            before[n] = await Store.ReadAsync(n);
        }

        var diffBefore = await Store.DiffAsync(4, 6);
        var rowsBefore = await CountSqlAsync("SELECT COUNT(*) FROM resources");

        var result = await Store.PruneAsync(keepRevisions: 3, auditBefore: null);

        Assert.Equal(new PruneResult(6, 4, 3, 3, 0), result);
        Assert.Equal(rowsBefore - 3, await CountSqlAsync("SELECT COUNT(*) FROM resources"));
        Assert.Equal(4, await Store.OldestRevisionAsync());
        for (var n = 4; n <= 6; n++)
        {
            Assert.Equal(before[n], await Store.ReadAsync(n));
        }

        Assert.Equal(diffBefore, await Store.DiffAsync(4, 6));
        Assert.Equal([6L, 5L, 4L], (await Store.ListRevisionsAsync()).Select(r => r.Number));
        var refused = await Assert.ThrowsAsync<RevisionPrunedException>(() => Store.ReadAsync(3));
        Assert.Contains("Revision 3 was pruned", refused.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<RevisionPrunedException>(() => Store.DiffAsync(2, 6));
        await Assert.ThrowsAsync<RevisionPrunedException>(() => Store.RollbackAsync(1, 6, "b"));
        Assert.Equal(before[6].Count, (await Store.DiffAsync(0, 6)).Count); // the empty store needs no history

        // A kept revision is still a rollback target, and commits go on as before.
        Assert.Equal(new CommitResult(false, true, 7), await Store.RollbackAsync(4, 6, "b"));
        Assert.Equal(before[4].Select(r => (r.Kind, r.Name, r.Body)), (await Store.ReadAsync(7)).Select(r => (r.Kind, r.Name, r.Body)));

        // Pruning again with a larger window keeps what is left; it never brings anything back or goes below what it kept.
        Assert.Equal(new PruneResult(7, 4, 0, 0, 0), await Store.PruneAsync(keepRevisions: 100, auditBefore: null));
    }

    [Fact]
    public async Task Prune_RemovesAuditEntriesOlderThanAsked_Only()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "a", "old");
        Clock.Advance(TimeSpan.FromDays(400));
        await Store.CommitAsync([Set("plan", "retail", "2")], 1, "a", "new");

        var result = await Store.PruneAsync(keepRevisions: 10, auditBefore: Clock.GetUtcNow() - TimeSpan.FromDays(365));

        Assert.Equal(1, result.Audit);
        Assert.Equal(0, result.Revisions);
        var audit = await Store.ListAuditAsync();
        Assert.Equal([2L], audit.Select(e => e.Revision));
        Assert.Equal(["retail"], (await Store.ReadAsync(1)).Select(r => r.Name));
    }
}
