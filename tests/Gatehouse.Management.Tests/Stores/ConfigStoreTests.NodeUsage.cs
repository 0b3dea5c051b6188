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
