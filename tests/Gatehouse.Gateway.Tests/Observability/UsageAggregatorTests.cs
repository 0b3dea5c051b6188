using Gatehouse.Gateway.Observability;
using Gatehouse.Model.Config;
using Gatehouse.Model.Usage;
using Microsoft.Extensions.Logging.Abstractions;
using FakeTimeProvider = Gatehouse.Gateway.Tests.TestSupport.FakeTimeProvider;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>Issue 19: records become per-minute deltas by reference, folded into rows by value.</summary>
[Trait("Issue", "19")]
public sealed class UsageAggregatorTests
{
    /// <summary>A sink that keeps what is written, loads nothing and deletes nothing; the sinks below change one of those.</summary>
    private class MemorySink : IUsageSink
    {
        public List<UsageRow> Written { get; } = [];

        public Task<IReadOnlyList<UsageRow>> LoadAsync(string node, IReadOnlyList<(UsageGranularity Granularity, long Bucket)> buckets, CancellationToken cancellationToken = default) =>
            Task.FromResult<IReadOnlyList<UsageRow>>([]);

        public virtual Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default)
        {
            lock (Written)
            {
                Written.AddRange(rows);
            }

            return Task.CompletedTask;
        }

        public virtual Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) => Task.FromResult(0);
    }

    [Fact]
    public async Task EqualNamesFromDifferentStrings_AddUpInOneRow_PerMinuteHourAndDay_AndInTheAllApplicationsRows()
    {
        var time = new FakeTimeProvider();
        time.Advance(TimeSpan.FromMinutes(30));
        var queue = new RecordQueue<UsageRecord>(64);
        var sink = new MemorySink();
        await using var aggregator = new UsageAggregator(queue, sink, "node-a", new UsageConfig(), time, NullLogger.Instance);
        var minute = time.GetUtcNow();

        // Three distinct string objects, one value: what two snapshots (a reload between requests) would hand over.
        string Gold() => new(['g', 'o', 'l', 'd']);
        Assert.True(queue.TryEnqueue(new UsageRecord(minute.UtcTicks, Gold(), "retail", "items.get", 200, 1_000, 10, 100, 0)));
        Assert.True(queue.TryEnqueue(new UsageRecord(minute.AddSeconds(5).UtcTicks, Gold(), "retail", "items.get", 200, 3_000, 20, 200, 1)));
        Assert.True(queue.TryEnqueue(new UsageRecord(minute.AddSeconds(70).UtcTicks, Gold(), "retail", "items.get", 200, 2_000, 30, 300, 0)));
        Assert.True(queue.TryEnqueue(new UsageRecord(minute.AddSeconds(10).UtcTicks, "silver", "retail", "items.get", 503, 9_000, 1, 1, 0)));
        aggregator.Drain();
        Assert.True(await aggregator.FlushAsync(CancellationToken.None));

        UsageRow Row(UsageGranularity granularity, string application, int status, long bucketSeconds) =>
            Assert.Single(sink.Written, r => r.Granularity == granularity && r.Key.Application == application && r.Key.Status == status && r.Bucket == bucketSeconds);
        var m0 = UsageBuckets.Start(UsageGranularity.Minute, minute.ToUnixTimeSeconds());
        var hour = UsageBuckets.Start(UsageGranularity.Hour, m0);
        var day = UsageBuckets.Start(UsageGranularity.Day, m0);

        var first = Row(UsageGranularity.Minute, "gold", 200, m0);
        Assert.Equal((2, 30L, 300L, 4_000L, 1L, 2L), (first.Count, first.BytesIn, first.BytesOut, first.LatencySumMicros, first.Steps, first.Histogram.Count));
        Assert.Equal(1, Row(UsageGranularity.Minute, "gold", 200, m0 + 60).Count);
        Assert.Equal((3, 6_000L), (Row(UsageGranularity.Hour, "gold", 200, hour).Count, Row(UsageGranularity.Hour, "gold", 200, hour).LatencySumMicros));
        Assert.Equal(3, Row(UsageGranularity.Day, "gold", 200, day).Count);
        Assert.Equal(3, Row(UsageGranularity.Day, UsageKey.AllApplications, 200, day).Count);
        Assert.Equal(1, Row(UsageGranularity.Day, UsageKey.AllApplications, 503, day).Count);
        Assert.Equal(2, sink.Written.Count(r => r.Granularity == UsageGranularity.Hour && r.Key.Application != UsageKey.AllApplications));

        // Deltas are gone once folded: a second drain with nothing queued changes nothing, and the next flush writes nothing.
        sink.Written.Clear();
        aggregator.Drain();
        Assert.True(await aggregator.FlushAsync(CancellationToken.None));
        Assert.Empty(sink.Written);
    }

    /// <summary>The first write waits until it is cancelled (the loop's flush caught by a stop); the others are kept.</summary>
    private sealed class StuckOnceSink : MemorySink
    {
        private int _writes;

        public TaskCompletionSource FirstWriteStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task WriteAsync(IReadOnlyList<UsageRow> rows, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _writes) == 1)
            {
                FirstWriteStarted.TrySetResult();
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }

            await base.WriteAsync(rows, cancellationToken);
        }
    }

    [Fact]
    public async Task AStopThatCancelsTheLoopsFlushMidWrite_StillWritesItsRowsInTheFinalFlush()
    {
        // What a graceful restart lost (a CLI test counted 37 of 42): SIGTERM cancelled the periodic flush while its write
        // was in flight, the rows it had taken were no longer marked to write, and the final flush found nothing to write.
        var time = new FakeTimeProvider();
        time.Advance(TimeSpan.FromMinutes(30));
        var queue = new RecordQueue<UsageRecord>(64);
        var sink = new StuckOnceSink();
        var aggregator = new UsageAggregator(queue, sink, "node-a", new UsageConfig { FlushInterval = TimeSpan.FromSeconds(1) }, time, NullLogger.Instance);
        try
        {
            aggregator.Start();
            for (var i = 0; i < 5; i++)
            {
                Assert.True(queue.TryEnqueue(new UsageRecord(time.GetUtcNow().UtcTicks, "shop", "gold", "hello", 200, 1_000, 0, 5, 0)));
            }

            time.Advance(TimeSpan.FromSeconds(1));
            await sink.FirstWriteStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await aggregator.StopAsync(TimeSpan.FromSeconds(30));

            var minute = UsageBuckets.Start(UsageGranularity.Minute, time.GetUtcNow().ToUnixTimeSeconds());
            var row = Assert.Single(sink.Written, r => r.Granularity == UsageGranularity.Minute && r.Key.Application == "shop" && r.Bucket == minute);
            Assert.Equal(5, row.Count);
            Assert.Equal(6, sink.Written.Count);
        }
        finally
        {
            await aggregator.DisposeAsync();
        }
    }

    /// <summary>Deletes wait until cancelled (retention of a huge store, in SQLite's short statements); writes are kept.</summary>
    private sealed class SlowRetentionSink : MemorySink
    {
        public int Deletes;

        public TaskCompletionSource DeleteStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource DeleteCancelled { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref Deletes);
            DeleteStarted.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                DeleteCancelled.TrySetResult();
                throw;
            }

            return 0;
        }
    }

    [Fact]
    public async Task Retention_RunsBesideTheFlushes_OneAtATime_AndAStopCancelsIt()
    {
        // Deleting a busy estate's old rows on SQLite takes tens of seconds in short statements; flushes go on meanwhile,
        // no second retention starts over the first, and a stop ends it (and still flushes what is pending).
        var time = new FakeTimeProvider();
        time.Advance(TimeSpan.FromMinutes(30));
        var queue = new RecordQueue<UsageRecord>(64);
        var sink = new SlowRetentionSink();
        var aggregator = new UsageAggregator(queue, sink, "node-a", new UsageConfig(), time, NullLogger.Instance);
        try
        {
            Assert.True(queue.TryEnqueue(new UsageRecord(time.GetUtcNow().UtcTicks, "shop", "gold", "hello", 200, 1_000, 0, 5, 0)));
            aggregator.Drain();
            Assert.True(await aggregator.FlushAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
            await sink.DeleteStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));

            // Two hours on, with the first retention still deleting: flushes write, and no second retention starts.
            for (var i = 0; i < 2; i++)
            {
                time.Advance(TimeSpan.FromHours(1));
                Assert.True(queue.TryEnqueue(new UsageRecord(time.GetUtcNow().UtcTicks, "shop", "gold", "hello", 200, 1_000, 0, 5, 0)));
                aggregator.Drain();
                Assert.True(await aggregator.FlushAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30)));
            }

            Assert.Equal(3, sink.Written.Count(r => r.Granularity == UsageGranularity.Minute && r.Key.Application == "shop"));
            Assert.Equal(1, Volatile.Read(ref sink.Deletes));

            Assert.True(queue.TryEnqueue(new UsageRecord(time.GetUtcNow().AddSeconds(61).UtcTicks, "shop", "gold", "bye", 200, 1_000, 0, 5, 0)));
            await aggregator.StopAsync(TimeSpan.FromSeconds(30)).WaitAsync(TimeSpan.FromSeconds(30));
            await sink.DeleteCancelled.Task.WaitAsync(TimeSpan.FromSeconds(1));
            Assert.Contains(sink.Written, r => r.Key.Operation == "bye");
            Assert.Equal(1, Volatile.Read(ref sink.Deletes));
        }
        finally
        {
            await aggregator.DisposeAsync();
        }
    }

    /// <summary>Records what retention asked to delete.</summary>
    private sealed class RetentionRecordingSink : MemorySink
    {
        public System.Collections.Concurrent.ConcurrentQueue<(UsageGranularity Granularity, long Before)> Deletes { get; } = new();

        public override Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default)
        {
            Deletes.Enqueue((granularity, before));
            return Task.FromResult(0);
        }
    }

    /// <summary>The store refuses the first delete, then takes the rest.</summary>
    private sealed class FailingOnceRetentionSink : MemorySink
    {
        public int Deletes;

        public override Task<int> DeleteBeforeAsync(UsageGranularity granularity, long before, CancellationToken cancellationToken = default) =>
            Interlocked.Increment(ref Deletes) == 1 ? Task.FromException<int>(new InvalidOperationException("the store is busy")) : Task.FromResult(0);
    }

    [Fact]
    public async Task Retention_ThatFailed_StartsAgainAtTheNextFlush_NotAnHourLater()
    {
        var time = new FakeTimeProvider();
        time.Advance(TimeSpan.FromDays(10));
        var sink = new FailingOnceRetentionSink();
        await using var aggregator = new UsageAggregator(new RecordQueue<UsageRecord>(8), sink, "node-a", new UsageConfig(), time, NullLogger.Instance);
        Assert.True(await aggregator.FlushAsync(CancellationToken.None));
        await WaitForAsync(() => Volatile.Read(ref sink.Deletes) >= 1);

        // The same minute: a retention that had succeeded would wait an hour; the failed one runs again.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Volatile.Read(ref sink.Deletes) < 3 && DateTime.UtcNow < deadline)
        {
            Assert.True(await aggregator.FlushAsync(CancellationToken.None));
            await Task.Delay(10);
        }

        Assert.True(Volatile.Read(ref sink.Deletes) >= 3, $"retention ran {sink.Deletes} deletes; after the failure it should run again");
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.True(condition(), "the condition did not hold within 30 s");
    }

    [Theory]
    [InlineData("7d", "90d", null, 7, 90, null)]
    [InlineData("7d", "90d", "30d", 7, 30, 30)]
    [InlineData("7d", "90d", "3d", 3, 3, 3)]
    [InlineData("10d", "5d", null, 5, 5, null)]
    public async Task Retention_KeepsAFinerGranularityNoLongerThanACoarserOne(string keepMinutes, string keepHours, string? keepDays, int minutes, int hours, int? days)
    {
        // A ranking reads day rows for the whole days of a range of hours, so hours must not outlive days; and "keepDays:
        // 30d" alone means the hours go at 30 days too, not at the default 90.
        var config = new UsageConfig
        {
            KeepMinutes = TimeSpan.FromDays(int.Parse(keepMinutes.TrimEnd('d'), System.Globalization.CultureInfo.InvariantCulture)),
            KeepHours = TimeSpan.FromDays(int.Parse(keepHours.TrimEnd('d'), System.Globalization.CultureInfo.InvariantCulture)),
            KeepDays = keepDays is null ? null : TimeSpan.FromDays(int.Parse(keepDays.TrimEnd('d'), System.Globalization.CultureInfo.InvariantCulture)),
        };
        var time = new FakeTimeProvider();
        time.Advance(TimeSpan.FromDays(400));
        var sink = new RetentionRecordingSink();
        await using var aggregator = new UsageAggregator(new RecordQueue<UsageRecord>(8), sink, "node-a", config, time, NullLogger.Instance);
        Assert.True(await aggregator.FlushAsync(CancellationToken.None));
        var expected = days is null ? 2 : 3;
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (sink.Deletes.Count < expected && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        var now = time.GetUtcNow().ToUnixTimeSeconds();
        var asked = sink.Deletes.ToDictionary(d => d.Granularity, d => (now - d.Before) / 86_400);
        Assert.Equal(minutes, asked[UsageGranularity.Minute]);
        Assert.Equal(hours, asked[UsageGranularity.Hour]);
        Assert.Equal((long?)days, asked.TryGetValue(UsageGranularity.Day, out var d) ? d : null);
    }
}
