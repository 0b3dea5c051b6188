using Gatehouse.Gateway.Observability;
using Gatehouse.Model.Config;
using Gatehouse.Model.Usage;
using Microsoft.Extensions.Logging.Abstractions;
using FakeTimeProvider = Gatehouse.Gateway.Tests.TestSupport.FakeTimeProvider;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>Issue 22, item 3: model calls' tokens and cost rolled up per minute, hour and day beside the request rollups.</summary>
[Trait("Issue", "22")]
public sealed class AiUsageAggregatorTests
{
    /// <summary>A sink of both kinds of rows, in memory; it can be made to fail, and it can hold rows of an earlier run.</summary>
    private sealed class MemorySink : IUsageSink, IAiUsageSink
    {
        public List<AiUsageRow> Written { get; } = [];

        public List<AiUsageRow> Stored { get; } = [];

        public bool Down { get; set; }

        public Task<IReadOnlyList<UsageRow>> LoadAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<UsageRow>>([]);

        public Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) => Task.FromResult(0);

        public Task<IReadOnlyList<AiUsageRow>> LoadAiAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<AiUsageRow>>([.. Stored.Where(r => r.Node == node && buckets.Contains((r.Granularity, r.Bucket)))]);

        public Task WriteAiAsync(IReadOnlyList<AiUsageRow> rows, CancellationToken cancellationToken = default)
        {
            if (Down)
            {
                throw new IOException("the store is down");
            }

            Written.AddRange(rows);
            return Task.CompletedTask;
        }

        public Task<int> DeleteAiBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) => Task.FromResult(0);

        /// <summary>The newest value written of one row.</summary>
        public AiUsageRow Last(UsageGranularity granularity, long bucket, string application, string model) =>
            Written.Last(r => r.Granularity == granularity && r.Bucket == bucket && r.Key.Application == application && r.Key.Model == model);
    }

    private static AiUsageRecord Call(DateTimeOffset at, string application, string model, long prompt, long completion, long cost, bool estimated = false) =>
        new(at.UtcTicks, application, "gold", "fast", "openai", model, prompt, completion, estimated, cost);

    [Fact]
    public async Task Calls_AddUpExactly_PerMinuteHourAndDay_PerApplicationAndModel()
    {
        var time = new FakeTimeProvider();
        time.Advance(TimeSpan.FromMinutes(30));
        var sink = new MemorySink();
        var ai = new RecordQueue<AiUsageRecord>(64);
        await using var aggregator = new UsageAggregator(new RecordQueue<UsageRecord>(64), sink, "node-a", new UsageConfig(), time, NullLogger.Instance, ai);
        Assert.True(aggregator.RecordsAi);
        var t0 = time.GetUtcNow();

        Assert.True(ai.TryEnqueue(Call(t0, "shop", "gpt-4o", 7, 5, 64_000)));
        Assert.True(ai.TryEnqueue(Call(t0.AddSeconds(20), "shop", "gpt-4o", 100, 1, 1_000_000_001)));
        Assert.True(ai.TryEnqueue(Call(t0.AddSeconds(65), "shop", "gpt-4o", 3, 2, 1, estimated: true)));
        Assert.True(ai.TryEnqueue(Call(t0.AddSeconds(10), "shop", "llama3", 11, 13, 0)));
        Assert.True(ai.TryEnqueue(Call(t0.AddSeconds(10), "", "gpt-4o", 1, 1, 10)));
        aggregator.Drain();
        Assert.True(await aggregator.FlushAsync(CancellationToken.None));

        var m0 = UsageBuckets.Start(UsageGranularity.Minute, t0.ToUnixTimeSeconds());
        var hour = UsageBuckets.Start(UsageGranularity.Hour, m0);
        var day = UsageBuckets.Start(UsageGranularity.Day, m0);
        var first = sink.Last(UsageGranularity.Minute, m0, "shop", "gpt-4o");
        Assert.Equal((2L, 107L, 6L, 0L, 1_000_064_001L), (first.Calls, first.PromptTokens, first.CompletionTokens, first.EstimatedCalls, first.CostNanos));
        Assert.Equal(new AiUsageKey("shop", "gold", "fast", "openai", "gpt-4o"), first.Key);
        Assert.Equal("node-a", first.Node);
        var second = sink.Last(UsageGranularity.Minute, m0 + 60, "shop", "gpt-4o");
        Assert.Equal((1L, 3L, 2L, 1L, 1L), (second.Calls, second.PromptTokens, second.CompletionTokens, second.EstimatedCalls, second.CostNanos));
        foreach (var (granularity, bucket) in new[] { (UsageGranularity.Hour, hour), (UsageGranularity.Day, day) })
        {
            var row = sink.Last(granularity, bucket, "shop", "gpt-4o");
            Assert.Equal((3L, 110L, 8L, 1L, 1_000_064_002L), (row.Calls, row.PromptTokens, row.CompletionTokens, row.EstimatedCalls, row.CostNanos));
            Assert.Equal(24, sink.Last(granularity, bucket, "shop", "llama3").PromptTokens + sink.Last(granularity, bucket, "shop", "llama3").CompletionTokens);
            Assert.Equal(10, sink.Last(granularity, bucket, "", "gpt-4o").CostNanos);
        }

        // Three rows per (application, model) and minute touched: 2 minutes of shop/gpt-4o, 1 of shop/llama3, 1 of ""/gpt-4o.
        Assert.Equal(4 + 3 + 3, sink.Written.Count);

        // Rows are whole values: a later call rewrites its rows with the new totals, the others are not written again.
        sink.Written.Clear();
        Assert.True(ai.TryEnqueue(Call(t0.AddSeconds(30), "shop", "gpt-4o", 1, 1, 5)));
        aggregator.Drain();
        Assert.True(await aggregator.FlushAsync(CancellationToken.None));
        Assert.Equal(3, sink.Written.Count);
        Assert.Equal(1_000_064_007L, sink.Last(UsageGranularity.Day, day, "shop", "gpt-4o").CostNanos);
        Assert.Equal(4, sink.Last(UsageGranularity.Day, day, "shop", "gpt-4o").Calls);
    }

    [Fact]
    public async Task QueueFull_RecordsAreDroppedAndCounted_AndRowsAtTheirBound_FurtherCallsAreDroppedAndCounted()
    {
        var time = new FakeTimeProvider();
        var sink = new MemorySink();
        var ai = new RecordQueue<AiUsageRecord>(4);
        // One call needs 3 rows (minute, hour, day): 6 rows hold two applications' calls of one minute, not a third's.
        await using var aggregator = new UsageAggregator(new RecordQueue<UsageRecord>(4), sink, "node-a", new UsageConfig { MaxPendingRows = 6 }, time, NullLogger.Instance, ai);
        var t0 = time.GetUtcNow();

        var accepted = 0;
        for (var i = 0; i < 10; i++)
        {
            accepted += ai.TryEnqueue(Call(t0, "a", "m", 1, 1, 1)) ? 1 : 0;
        }

        Assert.Equal(ai.Capacity, accepted);
        Assert.Equal(10 - ai.Capacity, ai.Dropped);
        aggregator.Drain();
        Assert.True(await aggregator.FlushAsync(CancellationToken.None));
        Assert.Equal(ai.Capacity, sink.Last(UsageGranularity.Minute, UsageBuckets.Start(UsageGranularity.Minute, t0.ToUnixTimeSeconds()), "a", "m").Calls);

        Assert.True(ai.TryEnqueue(Call(t0, "b", "m", 1, 1, 1)));
        Assert.True(ai.TryEnqueue(Call(t0, "c", "m", 1, 1, 1)));
        Assert.True(ai.TryEnqueue(Call(t0, "c", "m", 1, 1, 1)));
        aggregator.Drain();

        Assert.Equal(2, aggregator.DroppedAiRows);
        Assert.Equal(6, aggregator.PendingAiRows);
        Assert.True(await aggregator.FlushAsync(CancellationToken.None));
        Assert.DoesNotContain(sink.Written, r => r.Key.Application == "c");
    }

    [Fact]
    public async Task StoreDown_RowsAreKeptAndWrittenLater_AndARestartGoesOnFromTheStoredRows()
    {
        var time = new FakeTimeProvider();
        time.Advance(TimeSpan.FromHours(3));
        var sink = new MemorySink { Down = true };
        var t0 = time.GetUtcNow();
        var day = UsageBuckets.Start(UsageGranularity.Day, t0.ToUnixTimeSeconds());
        // What this node wrote before a restart.
        sink.Stored.Add(new AiUsageRow
        {
            Granularity = UsageGranularity.Day, Bucket = day, Node = "node-a", Key = new AiUsageKey("a", "gold", "fast", "openai", "m"),
            Calls = 10, PromptTokens = 70, CompletionTokens = 50, EstimatedCalls = 1, CostNanos = 640,
        });
        var ai = new RecordQueue<AiUsageRecord>(16);
        await using var aggregator = new UsageAggregator(new RecordQueue<UsageRecord>(16), sink, "node-a", new UsageConfig(), time, NullLogger.Instance, ai);

        Assert.True(ai.TryEnqueue(Call(t0, "a", "m", 7, 5, 64)));
        Assert.False(await aggregator.FlushAsync(CancellationToken.None));
        Assert.Empty(sink.Written);

        sink.Down = false;
        Assert.True(await aggregator.FlushAsync(CancellationToken.None));
        var row = sink.Last(UsageGranularity.Day, day, "a", "m");
        Assert.Equal((11L, 77L, 55L, 1L, 704L), (row.Calls, row.PromptTokens, row.CompletionTokens, row.EstimatedCalls, row.CostNanos));
    }

    [Fact]
    public async Task SinkWithoutModelUsage_RecordsNone()
    {
        var time = new FakeTimeProvider();
        await using var aggregator = new UsageAggregator(new RecordQueue<UsageRecord>(4), new RequestsOnlySink(), "node-a", new UsageConfig(), time, NullLogger.Instance, new RecordQueue<AiUsageRecord>(4));

        Assert.False(aggregator.RecordsAi);
    }

    [Theory]
    [InlineData(7L, 5L, 2.0, 10.0, 64_000L)]        // (7 × 2 + 5 × 10) per million = 64e-6 units
    [InlineData(7L, 0L, 0.15, 0.6, 1_050L)]         // 0.15 per million is 150 nano-units a token: exact, not 0.1499…
    [InlineData(1L, 1L, 0.0375, 0.00001, 38L)]      // 37.5 + 0.01 rounds once, to 38
    [InlineData(1_000_000L, 1_000_000L, 2.5, 10.0, 12_500_000_000L)]
    [InlineData(0L, 0L, 5.0, 5.0, 0L)]
    public void Cost_PricePerMillionTokens_InNanoUnits(long prompt, long completion, double promptPrice, double completionPrice, long nanos)
    {
        Assert.Equal(nanos, AiCost.Nanos(prompt, completion, promptPrice, completionPrice));
        Assert.Equal(nanos / 1e9m, AiCost.Units(nanos));
    }

    private sealed class RequestsOnlySink : IUsageSink
    {
        public Task<IReadOnlyList<UsageRow>> LoadAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<UsageRow>>([]);

        public Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default) => Task.CompletedTask;

        public Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) => Task.FromResult(0);
    }
}
