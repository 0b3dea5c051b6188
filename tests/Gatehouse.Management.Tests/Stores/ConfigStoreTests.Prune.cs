using Gatehouse.Management.Consumers;
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

    [Fact]
    public async Task Prune_DropsOldConsumerChanges_AndDeletedApplicationsRows_KeepsTheNewestChange_AndRaisesTheHorizon()
    {
        Assert.NotNull(await Store.SaveApplicationAsync(NewApplication("app-1", "acc-1"), 0, "t", "create"));
        Assert.NotNull(await Store.SaveApplicationAsync(NewApplication("app-2", "acc-1"), 0, "t", "create"));
        var one = (await Store.GetApplicationAsync("app-1"))!;
        var deletion = (await Store.SaveApplicationAsync(one with { Deleted = true }, one.Seq, "t", "delete"))!.Value;
        Clock.Advance(TimeSpan.FromDays(400));
        var newest = (await Store.SaveApplicationAsync(NewApplication("app-3", "acc-1"), 0, "t", "create"))!.Value;
        Assert.Equal(0, await Store.ConsumerHorizonAsync());

        var result = await Store.PruneAsync(keepRevisions: 10, auditBefore: Clock.GetUtcNow() - TimeSpan.FromDays(365));

        Assert.Equal((3, 1), (result.ConsumerChanges, result.Tombstones));
        Assert.Equal(deletion, await Store.ConsumerHorizonAsync());
        Assert.Equal(["app-2", "app-3"], (await Store.ReadApplicationsSinceAsync(0)).Applications.Select(a => a.Id).Order());
        Assert.Equal([newest], (await Store.ListConsumerChangesAsync(null, 10)).Select(c => c.Seq));

        // Numbers go on from the newest change, which a prune never removes, even when every change is older than asked.
        var next = await Store.SaveApplicationAsync(NewApplication("app-4", "acc-1"), 0, "t", "create");
        Assert.Equal(newest + 1, next);
        Clock.Advance(TimeSpan.FromDays(400));
        var again = await Store.PruneAsync(keepRevisions: 10, auditBefore: Clock.GetUtcNow());
        Assert.Equal((1, 0), (again.ConsumerChanges, again.Tombstones));
        Assert.Equal([next!.Value], (await Store.ListConsumerChangesAsync(null, 10)).Select(c => c.Seq));
        Assert.Equal(deletion, await Store.ConsumerHorizonAsync());
        Assert.Equal(next.Value + 1, await Store.SaveApplicationAsync(NewApplication("app-5", "acc-1"), 0, "t", "create"));
    }

    [Fact]
    public async Task AFollowerBehindAPrunedDeletion_ReadsTheWholeSet_AndDropsTheDeletedApplication()
    {
        Assert.NotNull(await Store.SaveApplicationAsync(NewApplication("app-1", "acc-1"), 0, "t", "create"));
        Assert.NotNull(await Store.SaveApplicationAsync(NewApplication("app-2", "acc-1"), 0, "t", "create"));
        var sink = new RecordingSink();
        await using var follower = new ConsumerFollower(Store, sink);
        await follower.CatchUpAsync(CancellationToken.None);
        Assert.Equal(["app-1", "app-2"], sink.Ids.Order());

        // While it does not look, app-1 is deleted, app-3 made, and the deletion pruned from the log.
        var one = (await Store.GetApplicationAsync("app-1"))!;
        Assert.NotNull(await Store.SaveApplicationAsync(one with { Deleted = true }, one.Seq, "t", "delete"));
        Clock.Advance(TimeSpan.FromDays(2));
        Assert.NotNull(await Store.SaveApplicationAsync(NewApplication("app-3", "acc-1"), 0, "t", "create"));
        Assert.Equal(1, (await Store.PruneAsync(keepRevisions: 10, auditBefore: Clock.GetUtcNow() - TimeSpan.FromDays(1))).Tombstones);

        await follower.CatchUpAsync(CancellationToken.None);

        Assert.Equal(["app-2", "app-3"], sink.Ids.Order());
        Assert.Equal(await Store.NewestConsumerSeqAsync(), follower.Seq);
    }

    private sealed class RecordingSink : Gatehouse.Model.Consumers.IConsumerSink
    {
        private readonly Dictionary<string, Gatehouse.Model.Consumers.ConsumerApplication> _applications = [];

        public IEnumerable<string> Ids => _applications.Keys;

        public void Reset(IEnumerable<Gatehouse.Model.Consumers.ConsumerApplication> applications)
        {
            _applications.Clear();
            foreach (var application in applications)
            {
                Upsert(application);
            }
        }

        public void Upsert(Gatehouse.Model.Consumers.ConsumerApplication application) => _applications[application.Id] = application;

        public void Remove(string id) => _applications.Remove(id);
    }
}
