using Gatehouse.Model.Config;
using Gatehouse.Model.Usage;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// Turns the queue of request records into this node's rollups, per minute, hour and day, for every application and for all
/// of them together (<see cref="UsageKey.AllApplications"/>), and writes the rows that changed to the store every flush
/// interval. Everything runs on two background loops; the request path only enqueues.
/// </summary>
/// <remarks>
/// <para>
/// A node is the only writer of its rows, so it keeps the whole value of every open bucket in memory and writes whole values:
/// a write that fails is simply repeated with newer values, and a cluster's totals are sums over nodes. At start it reads back
/// its own rows of the open buckets (a restart with the same node id goes on counting) and writes nothing until it has.
/// </para>
/// <para>
/// When the store is down or slow, rows stay in memory and are written when it answers again; no request waits for it. The
/// memory is bounded by <see cref="UsageConfig.MaxPendingRows"/>: records that would need a row past it are dropped and
/// counted, like records that find the queue full. A crash loses what was recorded since the last successful flush.
/// </para>
/// </remarks>
internal sealed partial class UsageAggregator : IAsyncDisposable
{
    private static readonly UsageGranularity[] Granularities = [UsageGranularity.Minute, UsageGranularity.Hour, UsageGranularity.Day];

    private readonly RecordQueue<UsageRecord> _queue;
    private readonly IUsageSink _sink;
    private readonly RecordQueue<AiUsageRecord>? _aiQueue;
    private readonly IAiUsageSink? _aiSink;
    private readonly AiUsageRollups? _ai;
    private readonly UsageConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<RowKey, Rollup> _rows = [];
    private readonly Dictionary<DeltaKey, Rollup> _deltas = new(DeltaKeyComparer.Instance);
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly RowKey[] _keys = new RowKey[6];
    private Task? _drainLoop;
    private Task? _flushLoop;
    private bool _seeded;
    private long _droppedRows;
    private long _refusedRows;
    private int _refusedLogged;
    // When retention last started (read and written under the flush lock), and its run, which may outlast many flushes.
    private long? _lastRetention;
    private Task? _retention;
    // Set by a retention run that failed (off the flush lock), so that the next flush starts one again at once.
    private volatile bool _retentionFailed;
    private int _failures;
    // When every row held was last written (UTC ticks): the start until a flush succeeds. Read by a gauge at each scrape.
    private long _writtenAt;

    /// <param name="aiQueue">Model calls' records (issue 22); they are rolled up only when <paramref name="sink"/> is also an <see cref="IAiUsageSink"/>.</param>
    public UsageAggregator(RecordQueue<UsageRecord> queue, IUsageSink sink, string node, UsageConfig config, TimeProvider time, ILogger logger, RecordQueue<AiUsageRecord>? aiQueue = null)
    {
        (_queue, _sink, _config, _time, _logger) = (queue, sink, config, time, logger);
        Node = node;
        _writtenAt = time.GetUtcNow().UtcTicks;
        if (aiQueue is not null && sink is IAiUsageSink aiSink)
        {
            (_aiQueue, _aiSink, _ai) = (aiQueue, aiSink, new AiUsageRollups(config.MaxPendingRows));
        }
    }

    /// <summary>True when model calls' tokens and cost are rolled up (the sink keeps them).</summary>
    public bool RecordsAi => _ai is not null;

    public string Node { get; }

    /// <summary>Records dropped because the pending rows were at their bound (<see cref="UsageConfig.MaxPendingRows"/>).</summary>
    public long DroppedRows => Volatile.Read(ref _droppedRows);

    /// <summary>Rows the sink refused because another process holds this node's id (<see cref="UsageNotOwnedException"/>), counted at each flush that had them.</summary>
    public long RefusedRows => Interlocked.Read(ref _refusedRows);

    /// <summary>Rows held in memory.</summary>
    public int PendingRows
    {
        get
        {
            lock (_lock)
            {
                return _rows.Count;
            }
        }
    }

    /// <summary>Model-call records dropped because the pending model-usage rows were at their bound (<see cref="UsageConfig.MaxPendingRows"/>).</summary>
    public long DroppedAiRows
    {
        get
        {
            lock (_lock)
            {
                return _ai?.DroppedRecords ?? 0;
            }
        }
    }

    /// <summary>Model-usage rows held in memory.</summary>
    public int PendingAiRows
    {
        get
        {
            lock (_lock)
            {
                return _ai?.Count ?? 0;
            }
        }
    }

    /// <summary>Consecutive flushes that failed (0 when the last one succeeded).</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _failures);

    /// <summary>
    /// How long ago the store last took every row this node held (a successful flush), or since the start while none has:
    /// near the flush interval while the store keeps up, growing while it does not (<c>gatehouse.usage.flush.age</c>).
    /// </summary>
    public TimeSpan SinceWritten => _time.GetUtcNow() - new DateTimeOffset(Volatile.Read(ref _writtenAt), TimeSpan.Zero);

    public void Start()
    {
        GatewayMetrics.Watch(this);
        _drainLoop = LoopAsync(TimeSpan.FromMilliseconds(250), _ =>
        {
            Drain();
            return Task.CompletedTask;
        });
        _flushLoop = LoopAsync(_config.FlushInterval, FlushAsync);
    }

    /// <summary>Moves every queued record into the rollups.</summary>
    public void Drain()
    {
        lock (_lock)
        {
            var now = _time.GetUtcNow().ToUnixTimeSeconds();
            while (_queue.TryDequeue(out var record))
            {
                Add(record, now);
            }

            Fold();
            if (_ai is not null)
            {
                while (_aiQueue!.TryDequeue(out var call))
                {
                    var seconds = Math.Max((call.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerSecond, now - HorizonSeconds(UsageGranularity.Minute) + 60);
                    if (!_ai.Add(call, seconds))
                    {
                        GatewayMetrics.UsageDropped("ai_rows_full");
                    }
                }
            }
        }
    }

    /// <summary>Drains the queue, then writes every changed row (reading this node's rows back first, once). False when the store failed.</summary>
    public async Task<bool> FlushAsync(CancellationToken cancellationToken)
    {
        await _flushing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            Drain();
            if (!_seeded && !await SeedAsync(cancellationToken).ConfigureAwait(false))
            {
                return false;
            }

            var batch = TakeDirty();
            var aiBatch = TakeDirtyAi();
            try
            {
                if (batch.Count > 0)
                {
                    await _sink.WriteAsync(batch, cancellationToken).ConfigureAwait(false);
                }

                // Whole values, as the request rows: when this write fails after the one above succeeded, both batches are
                // written again at the next flush, which changes nothing for the request rows.
                if (aiBatch.Count > 0)
                {
                    await _aiSink!.WriteAiAsync(aiBatch, cancellationToken).ConfigureAwait(false);
                }

                if (_failures > 0)
                {
                    LogRecovered(_logger, _failures);
                }

                Volatile.Write(ref _failures, 0);
                Volatile.Write(ref _writtenAt, _time.GetUtcNow().UtcTicks);
            }
            catch (UsageNotOwnedException e)
            {
                // Another process holds this node's id: its rows are not this one's to replace, now or later (the whole
                // values held here would overwrite what it counted meanwhile). Dropped and counted, never handed back.
                var refused = batch.Count + aiBatch.Count;
                Interlocked.Add(ref _refusedRows, refused);
                GatewayMetrics.UsageDropped("node_id_clash", refused);
                if (Interlocked.Exchange(ref _refusedLogged, 1) == 0)
                {
                    LogNotOwned(_logger, e.Message);
                }

                return true;
            }
            catch (Exception e)
            {
                // Every failed write hands its rows back, a cancelled one too: a stop that cancels the loop's flush in
                // the middle of its write is followed by the final flush, which must find them still to be written (they
                // are whole values, so writing them again is harmless when the cancelled write had in fact committed).
                MarkDirty(batch);
                if (_ai is not null)
                {
                    lock (_lock)
                    {
                        _ai.MarkDirty(aiBatch);
                    }
                }

                if (e is OperationCanceledException && cancellationToken.IsCancellationRequested)
                {
                    throw;
                }

                if (Interlocked.Increment(ref _failures) == 1)
                {
                    LogFlushFailed(_logger, batch.Count + aiBatch.Count, e);
                }

                GatewayMetrics.UsageFlushFailed();
                return false;
            }

            Evict();
            StartRetention();
            return true;
        }
        finally
        {
            _flushing.Release();
        }
    }

    // A record is added to one delta, of its minute and key, found by reference (the names are the snapshot's own
    // strings, so hashing them is one call per field, not a pass over their characters); Fold then adds each delta to its
    // six rows (minute, hour and day; the application's and the all-applications' ones). Adding each record to the six rows
    // itself cost twelve dictionary operations of four hashed strings each per request, on the proxy's cores.
    private void Add(in UsageRecord record, long now)
    {
        var seconds = (record.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) / TimeSpan.TicksPerSecond;

        // A record older than what is still held (only when this process was stalled for minutes) counts in the oldest
        // minute still held, so that no row already written is overwritten with less.
        seconds = Math.Max(seconds, now - HorizonSeconds(UsageGranularity.Minute) + 60);
        var key = new DeltaKey(UsageBuckets.Start(UsageGranularity.Minute, seconds), record.Application, record.Plan, record.Operation, record.Status);
        ref var delta = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_deltas, key, out _);
        delta ??= new Rollup();
        delta.Count += record.Hits;
        delta.BytesIn += record.BytesIn;
        delta.BytesOut += record.BytesOut;
        delta.Steps += record.Steps;
        if (record.LatencyMicros != UsageRecord.Untimed)
        {
            delta.LatencySum += record.LatencyMicros * record.Hits;
            delta.Histogram.Add(LatencyHistogram.BucketOf(record.LatencyMicros), record.Hits);
        }
    }

    private void Fold()
    {
        var keys = _keys;
        foreach (var (delta, rollup) in _deltas)
        {
            var i = 0;
            var usage = new UsageKey(delta.Application, delta.Plan, delta.Operation, delta.Status);
            var all = new UsageKey(UsageKey.AllApplications, delta.Plan, delta.Operation, delta.Status);
            foreach (var granularity in Granularities)
            {
                var bucket = UsageBuckets.Start(granularity, delta.Minute);
                keys[i++] = new RowKey(granularity, bucket, usage);
                keys[i++] = new RowKey(granularity, bucket, all);
            }

            var needed = 0;
            foreach (var k in keys)
            {
                if (!_rows.ContainsKey(k))
                {
                    needed++;
                }
            }

            if (needed > 0 && _rows.Count + needed > _config.MaxPendingRows)
            {
                _droppedRows += rollup.Count;
                GatewayMetrics.UsageDropped("rows_full", rollup.Count);
                continue;
            }

            foreach (var k in keys)
            {
                ref var row = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_rows, k, out _);
                row ??= new Rollup();
                row.Add(rollup.Count, rollup.BytesIn, rollup.BytesOut, rollup.LatencySum, rollup.Steps, rollup.Histogram);
                row.Dirty = true;
            }
        }

        _deltas.Clear();
    }

    private async Task<bool> SeedAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        var buckets = new List<(UsageGranularity, long)>();
        foreach (var granularity in Granularities)
        {
            var size = UsageBuckets.Seconds(granularity);
            for (var start = UsageBuckets.Start(granularity, now - HorizonSeconds(granularity)); start <= now; start += size)
            {
                buckets.Add((granularity, start));
            }
        }

        IReadOnlyList<UsageRow> stored;
        IReadOnlyList<AiUsageRow> storedAi = [];
        try
        {
            stored = await _sink.LoadAsync(Node, buckets, cancellationToken).ConfigureAwait(false);
            if (_aiSink is not null)
            {
                storedAi = await _aiSink.LoadAiAsync(Node, buckets, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            if (Interlocked.Increment(ref _failures) == 1)
            {
                LogFlushFailed(_logger, 0, e);
            }

            return false;
        }

        lock (_lock)
        {
            foreach (var row in stored)
            {
                var key = new RowKey(row.Granularity, row.Bucket, row.Key);
                if (!_rows.TryGetValue(key, out var rollup))
                {
                    rollup = new Rollup();
                    _rows[key] = rollup;
                }

                // What this process counted before it could read the store is added to what the store had.
                rollup.Add(row.Count, row.BytesIn, row.BytesOut, row.LatencySumMicros, row.Steps, row.Histogram);
            }

            _ai?.Seed(storedAi);
            _seeded = true;
        }

        return true;
    }

    private List<UsageRow> TakeDirty()
    {
        var batch = new List<UsageRow>();
        lock (_lock)
        {
            foreach (var (key, rollup) in _rows)
            {
                if (!rollup.Dirty)
                {
                    continue;
                }

                rollup.Dirty = false;
                batch.Add(new UsageRow
                {
                    Granularity = key.Granularity,
                    Bucket = key.Bucket,
                    Node = Node,
                    Key = key.Key,
                    Count = rollup.Count,
                    BytesIn = rollup.BytesIn,
                    BytesOut = rollup.BytesOut,
                    LatencySumMicros = rollup.LatencySum,
                    Steps = rollup.Steps,
                    Histogram = rollup.Histogram.Clone(),
                });
            }
        }

        return batch;
    }

    private List<AiUsageRow> TakeDirtyAi()
    {
        if (_ai is null)
        {
            return [];
        }

        lock (_lock)
        {
            return _ai.TakeDirty(Node);
        }
    }

    private void MarkDirty(List<UsageRow> batch)
    {
        lock (_lock)
        {
            foreach (var row in batch)
            {
                if (_rows.TryGetValue(new RowKey(row.Granularity, row.Bucket, row.Key), out var rollup))
                {
                    rollup.Dirty = true;
                }
            }
        }
    }

    /// <summary>Forgets written rows of buckets that closed long enough ago that no record can reach them any more.</summary>
    private void Evict()
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        lock (_lock)
        {
            List<RowKey>? old = null;
            foreach (var (key, rollup) in _rows)
            {
                if (!rollup.Dirty && key.Bucket + UsageBuckets.Seconds(key.Granularity) < now - HorizonSeconds(key.Granularity))
                {
                    (old ??= []).Add(key);
                }
            }

            foreach (var key in old ?? [])
            {
                _rows.Remove(key);
            }

            _ai?.Evict(now, HorizonSeconds);
        }
    }

    /// <summary>
    /// Starts the hourly retention beside the flushes, not inside one: on SQLite a busy estate's hour of minute rows is
    /// deleted in short statements (so that other writers never wait long), which takes tens of seconds, and the next
    /// flush must not wait for that. Called under the flush lock; never after the stop.
    /// </summary>
    private void StartRetention()
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds();
        if (_retentionFailed && _retention is { IsCompleted: true })
        {
            _retentionFailed = false;
            _lastRetention = null;
        }

        if (_stop.IsCancellationRequested || _retention is { IsCompleted: false } || (_lastRetention is { } last && now - last < 3600))
        {
            return;
        }

        _lastRetention = now;
        _retention = Task.Run(() => ApplyRetentionAsync(now, _stop.Token));
    }

    /// <summary>
    /// How long each granularity is kept: as configured, but a finer one never longer than a coarser one (a ranking of
    /// applications reads the coarser rows for the whole days and weeks inside its range, so they must hold whatever the
    /// finer rows still do; and "keep 30 days" written as <c>keepDays</c> alone means the hours go at 30 days too).
    /// </summary>
    private static (TimeSpan Minutes, TimeSpan Hours, TimeSpan? Days) Retention(UsageConfig config)
    {
        var hours = config.KeepDays is { } days && days < config.KeepHours ? days : config.KeepHours;
        var minutes = hours < config.KeepMinutes ? hours : config.KeepMinutes;
        return (minutes, hours, config.KeepDays);
    }

    private async Task ApplyRetentionAsync(long now, CancellationToken cancellationToken)
    {
        var (minutes, hours, days) = Retention(_config);
        try
        {
            await _sink.DeleteBeforeAsync(UsageGranularity.Minute, now - (long)minutes.TotalSeconds, cancellationToken).ConfigureAwait(false);
            await _sink.DeleteBeforeAsync(UsageGranularity.Hour, now - (long)hours.TotalSeconds, cancellationToken).ConfigureAwait(false);
            if (days is { } keepDays)
            {
                await _sink.DeleteBeforeAsync(UsageGranularity.Day, now - (long)keepDays.TotalSeconds, cancellationToken).ConfigureAwait(false);
            }

            // Model usage is kept exactly as long as the request rollups.
            if (_aiSink is not null)
            {
                await _aiSink.DeleteAiBeforeAsync(UsageGranularity.Minute, now - (long)minutes.TotalSeconds, cancellationToken).ConfigureAwait(false);
                await _aiSink.DeleteAiBeforeAsync(UsageGranularity.Hour, now - (long)hours.TotalSeconds, cancellationToken).ConfigureAwait(false);
                if (days is { } aiDays)
                {
                    await _aiSink.DeleteAiBeforeAsync(UsageGranularity.Day, now - (long)aiDays.TotalSeconds, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping: what was deleted stays deleted (each statement is its own transaction); the next start goes on.
        }
        catch (Exception e)
        {
            _retentionFailed = true;
            LogRetentionFailed(_logger, e);
        }
    }

    // How far back a bucket stays in memory after it closed: records are stamped when their request ends and wait at most a
    // drain period, so a few minutes is ample; hours and days stay while they are open and a little after.
    private static long HorizonSeconds(UsageGranularity granularity) => granularity switch
    {
        UsageGranularity.Minute => 10 * 60,
        UsageGranularity.Hour => 3600 + 10 * 60,
        _ => 86_400 + 10 * 60,
    };

    private async Task LoopAsync(TimeSpan interval, Func<CancellationToken, Task> work)
    {
        using var timer = new PeriodicTimer(interval, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await work(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    LogLoopFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops the loops, then drains and flushes once more (bounded by <paramref name="timeout"/>): a graceful stop loses nothing the store takes.</summary>
    public async Task StopAsync(TimeSpan timeout)
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        GatewayMetrics.Forget(this);
        await Task.WhenAll(_drainLoop ?? Task.CompletedTask, _flushLoop ?? Task.CompletedTask).ConfigureAwait(false);

        // Read after the loops: a flush of theirs may have started it. It stops at its next statement.
        await (_retention ?? Task.CompletedTask).ConfigureAwait(false);
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            // A store that is busy at that moment (another node's flush holding SQLite's write lock past the busy timeout
            // on a loaded machine) gets more tries until the deadline: these rows have no later flush to go with.
            var delay = TimeSpan.FromMilliseconds(100);
            while (!await FlushAsync(deadline.Token).ConfigureAwait(false))
            {
                await Task.Delay(delay, deadline.Token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
        }
        catch (OperationCanceledException)
        {
            LogLostAtStop(_logger, PendingRows);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        _stop.Dispose();
        _flushing.Dispose();
    }

    private readonly record struct RowKey(UsageGranularity Granularity, long Bucket, UsageKey Key);

    private readonly record struct DeltaKey(long Minute, string Application, string Plan, string Operation, int Status);

    /// <summary>
    /// Equal when the minute and status are and the names are the same string objects: two equal names from different
    /// objects make two deltas, which fold into the same rows (rows compare by value), so identity is enough here.
    /// </summary>
    private sealed class DeltaKeyComparer : IEqualityComparer<DeltaKey>
    {
        public static readonly DeltaKeyComparer Instance = new();

        public bool Equals(DeltaKey x, DeltaKey y) =>
            x.Minute == y.Minute && x.Status == y.Status && ReferenceEquals(x.Application, y.Application)
            && ReferenceEquals(x.Plan, y.Plan) && ReferenceEquals(x.Operation, y.Operation);

        public int GetHashCode(DeltaKey key) => HashCode.Combine(
            key.Minute,
            key.Status,
            System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Application),
            System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Plan),
            System.Runtime.CompilerServices.RuntimeHelpers.GetHashCode(key.Operation));
    }

    private sealed class Rollup
    {
        public long Count;
        public long BytesIn;
        public long BytesOut;
        public long LatencySum;
        public long Steps;
        public bool Dirty;
        public readonly LatencyHistogram Histogram = new();

        public void Add(long count, long bytesIn, long bytesOut, long latencySum, long steps, LatencyHistogram histogram)
        {
            Count += count;
            BytesIn += bytesIn;
            BytesOut += bytesOut;
            LatencySum += latencySum;
            Steps += steps;
            Histogram.Merge(histogram);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Usage rollups could not be written to the store ({Rows} rows); they are kept in memory and written when it answers again")]
    private static partial void LogFlushFailed(ILogger logger, int rows, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Usage rollups are written to the store again after {Failures} failed attempts")]
    private static partial void LogRecovered(ILogger logger, int failures);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Old usage rollups could not be deleted; trying again at the next flush")]
    private static partial void LogRetentionFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "The usage loop failed; it goes on at the next interval")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "{Reason} This node writes no usage rows until it is restarted with an id of its own; what it counts is dropped (gatehouse_usage_dropped_total{{reason=\"node_id_clash\"}}).")]
    private static partial void LogNotOwned(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stopping: {Rows} usage rows could not be written to the store and are lost")]
    private static partial void LogLostAtStop(ILogger logger, int rows);
}
