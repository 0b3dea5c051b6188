using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Tests.Stores;

// Diff, rollback and paging through revisions and audit entries.
public abstract partial class ConfigStoreTests
{
    [Fact]
    public async Task Diff_BetweenRevisions_ReportsCreatedUpdatedAndDeleted()
    {
        await Store.CommitAsync([Set("plan", "retail", "1"), Set("plan", "gold", "10"), Set("plan", "same", "0")], 0, "a", "one");
        await Store.CommitAsync([Set("plan", "retail", "2"), Delete("plan", "gold")], 1, "a", "two");
        await Store.CommitAsync([Set("plan", "silver", "5"), Set("plan", "retail", "3")], 2, "a", "three");

        var forward = await Store.DiffAsync(1, 3);

        Assert.Equal(
            [
                new("plan", "gold", ResourceDiffKind.Deleted, "10", null),
                new("plan", "retail", ResourceDiffKind.Updated, "1", "3"),
                new("plan", "silver", ResourceDiffKind.Created, null, "5"),
            ],
            forward);
        Assert.Equal(
            [
                new("plan", "gold", ResourceDiffKind.Created, null, "10"),
                new("plan", "retail", ResourceDiffKind.Updated, "3", "1"),
                new("plan", "silver", ResourceDiffKind.Deleted, "5", null),
            ],
            await Store.DiffAsync(3, 1));
        Assert.Empty(await Store.DiffAsync(2, 2));
        Assert.Equal(3, (await Store.DiffAsync(0, 1)).Count(d => d.Change == ResourceDiffKind.Created));
    }

    [Fact]
    public async Task Diff_ChangedAndChangedBack_IsNoDifference()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "a", "one");
        await Store.CommitAsync([Set("plan", "retail", "2")], 1, "a", "two");
        await Store.CommitAsync([Set("plan", "retail", "1")], 2, "a", "three");

        Assert.Empty(await Store.DiffAsync(1, 3));
        Assert.Single(await Store.DiffAsync(1, 2));
    }

    [Fact]
    public async Task Rollback_ToEarlierRevision_CommitsItsContentAsANewRevision()
    {
        await Store.CommitAsync([Set("plan", "retail", "1"), Set("plan", "gold", "10")], 0, "alice", "one");
        await Store.CommitAsync([Set("plan", "retail", "2"), Delete("plan", "gold"), Set("plan", "silver", "5")], 1, "alice", "two");

        var result = await Store.RollbackAsync(1, expectedRevision: 2, "bob");

        Assert.Equal(new CommitResult(false, true, 3), result);
        Assert.Equal(
            (await Store.ReadAsync(1)).Select(r => (r.Kind, r.Name, r.Body)),
            (await Store.ReadAsync(3)).Select(r => (r.Kind, r.Name, r.Body)));
        Assert.Equal(["retail", "silver"], (await Store.ReadAsync(2)).Select(r => r.Name));
        var revision = (await Store.ListRevisionsAsync())[0];
        Assert.Equal(("bob", "rollback to revision 1"), (revision.Actor, revision.Summary));
        var audit = (await Store.ListAuditAsync()).Where(a => a.Revision == 3).OrderBy(a => a.Name, StringComparer.Ordinal).ToList();
        Assert.Equal(
            [("gold", null, "10"), ("retail", "2", "1"), ("silver", "5", null)],
            audit.Select(a => (a.Name, a.Before, a.After)));
        Assert.All(audit, a => Assert.Equal("rollback", a.Action));
    }

    [Fact]
    public async Task Rollback_ToZero_EmptiesTheConfiguration()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "alice", "one");

        Assert.Equal(2, (await Store.RollbackAsync(0, 1, "bob")).Revision);

        Assert.Empty(await Store.ReadAsync());
        Assert.Single(await Store.ReadAsync(1));
    }

    [Fact]
    public async Task Rollback_ToCurrentContent_CreatesNoRevision()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "alice", "one");
        await Store.CommitAsync([Set("plan", "retail", "2")], 1, "alice", "two");
        await Store.CommitAsync([Set("plan", "retail", "1")], 2, "alice", "three");

        Assert.Equal(new CommitResult(false, false, 3), await Store.RollbackAsync(1, 3, "bob"));
    }

    [Fact]
    public async Task Rollback_OnStaleRevision_Conflicts()
    {
        await Store.CommitAsync([Set("plan", "retail", "1")], 0, "alice", "one");
        await Store.CommitAsync([Set("plan", "retail", "2")], 1, "alice", "two");

        Assert.Equal(new CommitResult(true, false, 2), await Store.RollbackAsync(1, 1, "bob"));
        Assert.Equal("2", (await Store.GetAsync("plan", "retail"))!.Body);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => Store.RollbackAsync(7, 2, "bob"));
    }

    [Fact]
    public async Task ListRevisions_PagedWithBefore_ReturnsEveryRevisionOnceNewestFirst()
    {
        for (var i = 0; i < 7; i++)
        {
            await Store.CommitAsync([Set("plan", "retail", i.ToString(System.Globalization.CultureInfo.InvariantCulture))], i, "a", $"s{i}");
        }

        var seen = new List<long>();
        long? before = null;
        while (true)
        {
            var page = await Store.ListRevisionsAsync(before, limit: 3);
            if (page.Count == 0)
            {
                break;
            }

            Assert.True(page.Count <= 3);
            seen.AddRange(page.Select(r => r.Number));
            before = page[^1].Number;
        }

        Assert.Equal([7, 6, 5, 4, 3, 2, 1], seen);
    }

    [Fact]
    public async Task ListAudit_PagedWithBeforeId_ReturnsEveryEntryOnceNewestFirst()
    {
        await Store.CommitAsync([Set("k", "a", "1"), Set("k", "b", "1"), Set("k", "c", "1")], 0, "x", "one");
        await Store.CommitAsync([Set("k", "a", "2"), Delete("k", "b")], 1, "x", "two");

        var first = await Store.ListAuditAsync(limit: 2);
        var second = await Store.ListAuditAsync(first[^1].Id, limit: 2);
        var third = await Store.ListAuditAsync(second[^1].Id, limit: 2);

        var all = first.Concat(second).Concat(third).ToList();
        Assert.Equal([2, 2, 1], new[] { first.Count, second.Count, third.Count });
        Assert.Equal(all.Select(a => a.Id).Distinct().OrderDescending(), all.Select(a => a.Id));
        Assert.Equal([2L, 2L, 1L, 1L, 1L], all.Select(a => a.Revision));
        Assert.Empty(await Store.ListAuditAsync(third[^1].Id));
    }
}
