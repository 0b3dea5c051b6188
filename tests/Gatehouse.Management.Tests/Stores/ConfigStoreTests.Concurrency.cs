using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Tests.Stores;

// Several writers on one database, each through its own store instance (as separate processes would).
public abstract partial class ConfigStoreTests
{
    [Fact]
    public async Task ConcurrentWriters_RetryingOnConflict_EveryCommitLandsWithoutGaps()
    {
        const int writers = 8, commitsEach = 25;
        var stores = new List<IConfigStore>();
        for (var i = 0; i < writers; i++)
        {
            stores.Add(await OpenAsync());
        }

        var conflicts = 0;
        await Task.WhenAll(stores.Select((store, writer) => Task.Run(async () =>
        {
            for (var n = 0; n < commitsEach; n++)
            {
                while (true)
                {
                    var current = await store.CurrentRevisionAsync();
                    var result = await store.CommitAsync([Set("counter", $"w{writer}", $$"""{"n":{{n}}}""")], current, $"w{writer}", $"n{n}");
                    if (!result.Conflict)
                    {
                        Assert.True(result.Changed);
                        break;
                    }

                    Interlocked.Increment(ref conflicts);
                }
            }
        })));

        Assert.Equal(writers * commitsEach, await Store.CurrentRevisionAsync());
        var numbers = (await Store.ListRevisionsAsync(limit: 1000)).Select(r => r.Number).Order();
        Assert.Equal(Enumerable.Range(1, writers * commitsEach).Select(n => (long)n), numbers);
        Assert.Equal(
            Enumerable.Range(0, writers).Select(w => ($"w{w}", $$"""{"n":{{commitsEach - 1}}}""")),
            (await Store.ReadAsync()).Select(r => (r.Name, r.Body)));
        Assert.Equal(writers * commitsEach, (await Store.ListAuditAsync(limit: 1000)).Count);
    }

    [Fact]
    public async Task TwoCommits_SameExpectedRevision_ExactlyOneWins()
    {
        var left = await OpenAsync();
        var right = await OpenAsync();
        for (var round = 0; round < 10; round++)
        {
            var expected = await Store.CurrentRevisionAsync();
            using var start = new ManualResetEventSlim();
            var a = Task.Run(() => { start.Wait(); return left.CommitAsync([Set("plan", "left", $"{round}")], expected, "l", "l"); });
            var b = Task.Run(() => { start.Wait(); return right.CommitAsync([Set("plan", "right", $"{round}")], expected, "r", "r"); });
            start.Set();
            var results = await Task.WhenAll(a, b);

            Assert.Single(results, r => r.Conflict);
            var winner = Assert.Single(results, r => r.Changed);
            Assert.Equal(expected + 1, winner.Revision);
            Assert.Equal(expected + 1, await Store.CurrentRevisionAsync());
            Assert.Equal(results[0].Changed ? "left" : "right", (await Store.ListAuditAsync(limit: 1))[0].Name);
        }
    }
}
