using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Tests.Stores;

// The nodes' cache purges (issue 23: a purge or an unsafe request's invalidation on one node reaches the others), on both
// databases: in order, without gaps across writers, and forgotten after the time kept.
public abstract partial class ConfigStoreTests
{
    [Fact]
    [Trait("Issue", "23")]
    public async Task CachePurges_AreReadInOrderAfterASeq_FromEveryProcess_AndOldOnesAreForgotten()
    {
        var purges = (ICachePurgeStore)Store;
        var other = (ICachePurgeStore)await OpenAsync();
        Assert.Equal(0, await purges.NewestCachePurgeAsync());
        Assert.Equal("[] from 0", await ReadAsync(purges, 0));

        await purges.AddCachePurgesAsync("gw-1", [("items-get", "/items/7"), ("items-get", null)], TimeSpan.FromHours(1));
        await Task.WhenAll(Enumerable.Range(0, 6).Select(i =>
            (i % 2 == 0 ? purges : other).AddCachePurgesAsync($"gw-{i}", [("r", $"/{i}")], TimeSpan.FromHours(1))));
        Assert.Equal(8, await other.NewestCachePurgeAsync());

        var (all, oldest) = await purges.ReadCachePurgesAsync(0, 100);
        Assert.Equal(1, oldest);
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), all.Select(p => p.Seq));
        Assert.Equal(new CachePurge(1, "gw-1", "items-get", "/items/7"), all[0]);
        Assert.Equal(new CachePurge(2, "gw-1", "items-get", null), all[1]);
        Assert.Equal(Enumerable.Range(0, 6).Select(i => $"/{i}").Order(), all.Skip(2).Select(p => p.Path!).Order());
        Assert.Equal([6L, 7L], (await purges.ReadCachePurgesAsync(5, 2)).Purges.Select(p => p.Seq));

        // Past the time kept, a write forgets the old ones; the numbers go on from the newest.
        Clock.Advance(TimeSpan.FromHours(2));
        await other.AddCachePurgesAsync("gw-9", [("r", "/9")], TimeSpan.FromHours(1));
        Assert.Equal("[9] from 9", await ReadAsync(purges, 0));
        Clock.Advance(TimeSpan.FromHours(2));
        await purges.AddCachePurgesAsync("gw-9", [], TimeSpan.FromHours(1));
        await purges.AddCachePurgesAsync("gw-9", [("r", "/10")], TimeSpan.FromHours(1));
        Assert.Equal("[10] from 10", await ReadAsync(purges, 8));
    }

    // The sequence numbers after one, and the oldest kept, in one string that compares by value.
    private static async Task<string> ReadAsync(ICachePurgeStore store, long after)
    {
        var (purges, oldest) = await store.ReadCachePurgesAsync(after, 100);
        return $"[{string.Join(',', purges.Select(p => p.Seq))}] from {oldest}";
    }
}
