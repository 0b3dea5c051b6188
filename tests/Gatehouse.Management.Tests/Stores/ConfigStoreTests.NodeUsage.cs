using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Tests.Stores;

// Hybrid nodes' usage uploads and node tokens (issue 21), on both databases.
public abstract partial class ConfigStoreTests
{
    [Fact]
    [Trait("Issue", "21")]
    public async Task ApplyNodeUsage_OncePerSequence_InOrder_AnOlderOrRepeatedUploadWritesNothing()
    {
        var store = (IUsageStore)Store;
        Assert.True(await Store.ApplyNodeUsageAsync("edge-1", 1, [Row("edge-1", 10)]));
        Assert.True(await Store.ApplyNodeUsageAsync("edge-1", 3, [Row("edge-1", 30)]));
        // A repeat (the node did not hear the answer) and an older one (overtaken) change nothing.
        Assert.False(await Store.ApplyNodeUsageAsync("edge-1", 3, [Row("edge-1", 99)]));
        Assert.False(await Store.ApplyNodeUsageAsync("edge-1", 2, [Row("edge-1", 20)]));
        // Sequences are per node.
        Assert.True(await Store.ApplyNodeUsageAsync("edge-2", 1, [Row("edge-2", 5)]));
        // Rows naming another node are not that node's to write.
        Assert.True(await Store.ApplyNodeUsageAsync("edge-2", 2, [Row("edge-1", 1000), Row("edge-2", 6)]));

        var rows = await store.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Minute, 0, long.MaxValue, AllApplications: false));
        Assert.Equal(30, rows.Single(r => r.Node == "edge-1").Count);
        Assert.Equal(6, rows.Single(r => r.Node == "edge-2").Count);
    }

    [Fact]
    [Trait("Issue", "22")]
    public async Task ApplyNodeUsage_ModelRows_AreAppliedWithTheRequestRows_OncePerSequence_OnlyTheNodesOwn()
    {
        var store = (IUsageStore)Store;
        Assert.True(await Store.ApplyNodeUsageAsync("edge-1", 1, [Row("edge-1", 10)], [AiRow("edge-1", "shop", "gpt-4o", 2, 14, 10, 8_100)]));
        // Model rows alone are an upload too (the aggregator flushes them apart from the request rows).
        Assert.True(await Store.ApplyNodeUsageAsync("edge-1", 2, [], [AiRow("edge-1", "shop", "gpt-4o", 3, 21, 15, 12_150)]));
        Assert.False(await Store.ApplyNodeUsageAsync("edge-1", 2, [], [AiRow("edge-1", "shop", "gpt-4o", 99, 99, 99, 99)]));
        Assert.True(await Store.ApplyNodeUsageAsync("edge-2", 1, [], [AiRow("edge-1", "shop", "gpt-4o", 1000, 1000, 1000, 1000), AiRow("edge-2", "shop", "gpt-4o", 1, 7, 5, 4_050)]));

        var totals = await store.AggregateAiUsageAsync(new AiUsageQuery(UsageGranularity.Minute, 0, long.MaxValue), ["node"], byBucket: false);
        Assert.Equal((3L, 21L, 15L, 12_150L), totals.Where(t => t.Group[0] == "edge-1").Select(t => (t.Calls, t.PromptTokens, t.CompletionTokens, t.CostNanos)).Single());
        Assert.Equal((1L, 7L, 5L, 4_050L), totals.Where(t => t.Group[0] == "edge-2").Select(t => (t.Calls, t.PromptTokens, t.CompletionTokens, t.CostNanos)).Single());
        Assert.Equal(10, (await store.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Minute, 0, long.MaxValue, AllApplications: false))).Single().Count);
    }

    [Fact]
    [Trait("Issue", "21")]
    public async Task NodeTokens_FoundByHashOnly_RotatedByName_AndRevoked()
    {
        await Store.SetNodeTokenAsync("edge", "aa");
        Assert.Equal("edge", await Store.FindNodeTokenAsync("aa"));
        await Store.SetNodeTokenAsync("edge", "bb");
        Assert.Null(await Store.FindNodeTokenAsync("aa"));
        Assert.Equal("edge", await Store.FindNodeTokenAsync("bb"));
        Assert.Equal(["edge"], (await Store.ListNodeTokensAsync()).Select(t => t.Name));
        Assert.True(await Store.DeleteNodeTokenAsync("edge"));
        Assert.False(await Store.DeleteNodeTokenAsync("edge"));
        Assert.Null(await Store.FindNodeTokenAsync("bb"));
    }

    [Fact]
    [Trait("Issue", "21")]
    public async Task NodeTokens_BindTheirFirstNode_OrTheOneIssuedFor_AndARotationBindsAnew()
    {
        await Store.SetNodeTokenAsync("edge", "aa");
        Assert.Equal("edge-1", await Store.BindNodeTokenAsync("edge", "edge-1"));
        // Bound: another id does not take it over.
        Assert.Equal("edge-1", await Store.BindNodeTokenAsync("edge", "edge-2"));
        await Store.SetNodeTokenAsync("pinned", "cc", "edge-9");
        Assert.Equal("edge-9", await Store.BindNodeTokenAsync("pinned", "edge-1"));
        Assert.Equal(["edge-1", "edge-9"], (await Store.ListNodeTokensAsync()).Select(t => t.Node));
        // A new token of the same name starts unbound (or bound to the node it was issued for).
        await Store.SetNodeTokenAsync("edge", "bb");
        Assert.Equal("edge-2", await Store.BindNodeTokenAsync("edge", "edge-2"));
        Assert.Null(await Store.BindNodeTokenAsync("gone", "edge-1"));
        // Two nodes racing for one unbound token: both hear the same winner.
        await Store.SetNodeTokenAsync("race", "dd");
        var bound = await Task.WhenAll(Store.BindNodeTokenAsync("race", "a"), Store.BindNodeTokenAsync("race", "b"));
        Assert.Equal(bound[0], bound[1]);
    }

    private static UsageRow Row(string node, long count) => new()
    {
        Granularity = UsageGranularity.Minute,
        Bucket = 1_800_000_000 - (1_800_000_000 % 60),
        Node = node,
        Key = new UsageKey("shop", "retail", "route:hello", 200),
        Count = count,
        Histogram = new LatencyHistogram(),
    };
}
