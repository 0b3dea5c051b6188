using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Limits;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// Keeps a node's quota counts (hour, day, month) in the store, so that a restart does not start every quota over:
/// loaded once at start, before the listeners open; written every <see cref="Interval"/> on a background loop (only the
/// counts that changed, in one transaction), and once more at a graceful stop. Nothing here runs on the request path,
/// which keeps counting in memory (<see cref="LimitCounters"/>, and the token budgets of <c>tokenLimits</c> counted on this
/// node alone: <see cref="Ai.TokenLimiter"/>); a store that is down delays the writes, which carry the
/// newest counts when it is back. A crash loses what was counted since the last write: at most one interval's requests.
/// </summary>
internal sealed partial class QuotaPersistence : IAsyncDisposable
{
    /// <summary>How often changed counts are written when nothing else is said.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(5);

    private readonly LimitCounters _counters;
    private readonly Ai.TokenLimiter? _tokens;
    private readonly IQuotaCountStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PeriodicLoop _loop;
    // What the store has, by application and limit: a count is written again only when it moved.
    private readonly Dictionary<(string App, string Name), (uint Window, long Count)> _written = [];
    private readonly SemaphoreSlim _writing = new(1, 1);
    private bool _failing;
    private long _writes;

    public QuotaPersistence(LimitCounters counters, IQuotaCountStore store, TimeProvider time, ILogger logger, TimeSpan? interval = null, Ai.TokenLimiter? tokens = null)
    {
        (_counters, _store, _time, _logger, _tokens) = (counters, store, time, logger, tokens);
        Interval = interval ?? DefaultInterval;
        _loop = new PeriodicLoop(Interval, time, token => FlushAsync(token));
    }

    /// <summary>Time between two writes of the changed counts: the most a crash can lose.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Batches written so far (tests wait for one).</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Loads the counts of the current windows into the counters; a count of a window that has passed is ignored.</summary>
    public async Task LoadAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<QuotaCount> kept;
        try
        {
            kept = await _store.ReadQuotaCountsAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogLoadFailed(_logger, e.Message);
            return;
        }

        var now = _time.GetUtcNow().UtcTicks;
        var loaded = 0;
        foreach (var c in kept)
        {
            if (c.Window == LimitWindows.Index(c.Per, now))
            {
                if (c.Limit.StartsWith(Ai.TokenLimiter.QuotaPrefix, StringComparison.Ordinal))
                {
                    _tokens?.Seed(c.Application, c.Limit, c.Window, c.Count);
                }
                else
                {
                    _counters.Seed(c.Application, c.Limit, c.Per, c.Window, (int)Math.Min(c.Count, int.MaxValue));
                }

                _written[(c.Application, c.Limit)] = (c.Window, c.Count);
                loaded++;
            }
        }

        if (loaded > 0)
        {
            LogLoaded(_logger, loaded);
        }
    }

    /// <summary>Starts writing every <see cref="Interval"/>.</summary>
    public void Start() => _loop.Start();

    /// <summary>Writes the counts that changed since the last write, in one batch; false when the store did not take them.</summary>
    public async Task<bool> FlushAsync(CancellationToken cancellationToken)
    {
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var batch = new List<QuotaCount>();
            foreach (var (app, name, per, window, count) in _counters.Quotas())
            {
                if (count > 0 && (!_written.TryGetValue((app, name), out var was) || was.Window != window || was.Count != count))
                {
                    batch.Add(new QuotaCount(app, name, per, window, count));
                }
            }

            foreach (var (app, name, per, window, used) in _tokens?.Quotas() ?? [])
            {
                if (used > 0 && (!_written.TryGetValue((app, name), out var was) || was.Window != window || was.Count != used))
                {
                    batch.Add(new QuotaCount(app, name, per, window, used));
                }
            }

            if (batch.Count == 0)
            {
                return true;
            }

            try
            {
                await _store.WriteQuotaCountsAsync(batch, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Kept in memory and written with the next batch; said once per outage.
                if (!_failing)
                {
                    _failing = true;
                    LogWriteFailed(_logger, batch.Count, e.Message);
                }

                return false;
            }

            foreach (var c in batch)
            {
                _written[(c.Application, c.Limit)] = (c.Window, c.Count);
            }

            Interlocked.Increment(ref _writes);
            if (_failing)
            {
                _failing = false;
                LogWriteRecovered(_logger, batch.Count);
            }

            return true;
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Stops the loop and writes what changed once more (a graceful stop loses nothing).</summary>
    public async ValueTask DisposeAsync()
    {
        await _loop.DisposeAsync().ConfigureAwait(false);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            // A store busy at that moment (SQLite's write lock held past its busy timeout on a loaded machine) gets more
            // tries until the deadline: these counts have no later write to go with, and the next start reads them.
            var delay = TimeSpan.FromMilliseconds(50);
            while (!await FlushAsync(timeout.Token).ConfigureAwait(false))
            {
                await Task.Delay(delay, timeout.Token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(1).Ticks));
            }
        }
        catch (OperationCanceledException)
        {
            LogFinalWriteTimedOut(_logger);
        }

        _writing.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Count} quota counts of the current windows from the store")]
    private static partial void LogLoaded(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not load quota counts from the store ({Reason}); quotas count from zero on this node until the next restart")]
    private static partial void LogLoadFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not write {Count} quota counts to the store ({Reason}); they are kept in memory and written when it answers again")]
    private static partial void LogWriteFailed(ILogger logger, int count, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Quota counts are written to the store again ({Count} in this batch)")]
    private static partial void LogWriteRecovered(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The last write of quota counts did not finish within 5 s of stopping; counts since the previous write are lost")]
    private static partial void LogFinalWriteTimedOut(ILogger logger);
}
