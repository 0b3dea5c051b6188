using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;

namespace Gatehouse.Management.Tests.Stores;

// Model usage rollups (issue 22): tokens and cost of model calls, on both databases.
public abstract partial class ConfigStoreTests
{
    private const long AiMinute = 1_800_000_000 - (1_800_000_000 % 60);

    private static AiUsageRow AiRow(string node, string application, string model, long calls, long prompt, long completion, long cost,
        UsageGranularity granularity = UsageGranularity.Minute, long bucket = AiMinute, long estimated = 0) => new()
    {
        Granularity = granularity,
        Bucket = bucket,
        Node = node,
        Key = new AiUsageKey(application, "gold", "fast", "openai", model),
        Calls = calls,
        PromptTokens = prompt,
        CompletionTokens = completion,
        EstimatedCalls = estimated,
        CostNanos = cost,
    };

    [Fact]
    [Trait("Issue", "22")]
    public async Task AiUsage_RoundTrip_WholeValuesReplace_AndNamesAreKeptLiterally()
    {
        var store = (IUsageStore)Store;
        const string odd = "it's \"odd\"; DROP TABLE usage_ai_minute; --ü";
        var big = 9_000_000_000_000_000_000L; // near long's limit: the columns are 64-bit integers on both databases
        await store.WriteAiAsync([AiRow("node-a", "shop", "gpt-4o", 2, 14, 10, 8_100, estimated: 1), AiRow("node-a", odd, odd, 1, 1, 1, big)]);
        await store.WriteAiAsync([AiRow("node-a", "shop", "gpt-4o", 3, 21, 15, 12_150, estimated: 1)]);

        var loaded = await store.LoadAiAsync("node-a", [(UsageGranularity.Minute, AiMinute)]);
        Assert.Equal(2, loaded.Count);
        Assert.Equal(AiRow("node-a", "shop", "gpt-4o", 3, 21, 15, 12_150, estimated: 1), loaded.Single(r => r.Key.Application == "shop"));
        Assert.Equal(AiRow("node-a", odd, odd, 1, 1, 1, big), loaded.Single(r => r.Key.Application == odd));
        Assert.Empty(await store.LoadAiAsync("node-b", [(UsageGranularity.Minute, AiMinute)]));
        Assert.Empty(await store.LoadAiAsync("node-a", [(UsageGranularity.Hour, AiMinute - (AiMinute % 3600))]));
    }

    [Fact]
    [Trait("Issue", "22")]
    public async Task AiUsage_NodesAddUp_ByGroupAndBucket_WithFilters()
    {
        var store = (IUsageStore)Store;
        await store.WriteAiAsync([
            AiRow("node-a", "shop", "gpt-4o", 2, 14, 10, 8_100),
            AiRow("node-b", "shop", "gpt-4o", 3, 21, 15, 12_150, estimated: 1),
            AiRow("node-b", "shop", "gpt-4o", 1, 7, 5, 4_050, bucket: AiMinute + 60),
            AiRow("node-a", "blog", "llama3", 4, 40, 30, 0),
            AiRow("node-a", "blog", "llama3", 100, 100, 100, 100, bucket: AiMinute + 120),
        ]);
        var query = new AiUsageQuery(UsageGranularity.Minute, AiMinute, AiMinute + 120);

        var byModel = await store.AggregateAiUsageAsync(query, ["application", "model"], byBucket: false);
        Assert.Equal(2, byModel.Count);
        var shop = byModel.Single(a => a.Group[0] == "shop");
        Assert.Equal(("gpt-4o", 6L, 42L, 30L, 1L, 24_300L), (shop.Group[1], shop.Calls, shop.PromptTokens, shop.CompletionTokens, shop.EstimatedCalls, shop.CostNanos));
        var blog = byModel.Single(a => a.Group[0] == "blog");
        Assert.Equal((4L, 40L, 30L, 0L), (blog.Calls, blog.PromptTokens, blog.CompletionTokens, blog.CostNanos));

        var perMinute = await store.AggregateAiUsageAsync(query with { Models = ["gpt-4o"] }, [], byBucket: true);
        Assert.Equal([(AiMinute, 5L, 20_250L), (AiMinute + 60, 1L, 4_050L)], perMinute.OrderBy(p => p.Bucket).Select(p => (p.Bucket, p.Calls, p.CostNanos)));

        var byNode = await store.AggregateAiUsageAsync(query with { Applications = ["shop"] }, ["node"], byBucket: false);
        Assert.Equal([("node-a", 2L), ("node-b", 4L)], byNode.OrderBy(n => n.Group[0], StringComparer.Ordinal).Select(n => (n.Group[0], n.Calls)));

        Assert.Empty(await store.AggregateAiUsageAsync(query with { Providers = ["anthropic"] }, [], byBucket: false));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.AggregateAiUsageAsync(query, ["operation"], byBucket: false));
    }

    [Fact]
    [Trait("Issue", "22")]
    public async Task AiUsage_DeleteBefore_RemovesOnlyOlderBucketsOfThatGranularity()
    {
        var store = (IUsageStore)Store;
        await store.WriteAiAsync([
            AiRow("node-a", "shop", "m", 1, 1, 1, 1, bucket: AiMinute - 60),
            AiRow("node-a", "shop", "m", 1, 1, 1, 1),
            AiRow("node-a", "shop", "m", 1, 1, 1, 1, UsageGranularity.Hour, AiMinute - 7200),
        ]);

        Assert.Equal(1, await store.DeleteAiBeforeAsync(UsageGranularity.Minute, AiMinute));
        var left = await store.AggregateAiUsageAsync(new AiUsageQuery(UsageGranularity.Minute, 0, long.MaxValue), [], byBucket: true);
        Assert.Equal(AiMinute, Assert.Single(left).Bucket);
        Assert.Single(await store.AggregateAiUsageAsync(new AiUsageQuery(UsageGranularity.Hour, 0, long.MaxValue), [], byBucket: true));
    }
}
