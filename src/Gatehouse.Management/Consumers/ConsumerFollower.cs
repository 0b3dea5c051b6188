using Gatehouse.Management.Stores;
using Gatehouse.Model.Consumers;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Consumers;

/// <summary>
/// Brings portal applications from the store to this node's gateway: everything once at start, then every change
/// after the last sequence number seen: at once after a change made through this process (so a key works here when the
/// answer that shows it is sent), at once when PostgreSQL notifies a change committed by another process, and one
/// query per <see cref="Interval"/> besides (250 ms on SQLite, which cannot notify; 1 s on PostgreSQL, in case a
/// notification is lost with its connection). Nothing here is on a request's path: the gateway reads its in-memory
/// directory.
/// </summary>
public sealed partial class ConsumerFollower : IAsyncDisposable
{
    /// <summary>How often the store is asked for changes made elsewhere when none is given and it cannot notify: 250 ms.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>How often a store that notifies (PostgreSQL) is asked all the same, when no interval is given: 1 s.</summary>
    public static readonly TimeSpan NotifiedInterval = TimeSpan.FromSeconds(1);

    private readonly IConsumerStore _store;
    private readonly IConsumerSink _sink;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private long _seq = -1;

    public ConsumerFollower(IConsumerStore store, IConsumerSink sink, TimeSpan? interval = null, ILogger? logger = null)
    {
        _store = store;
        _sink = sink;
        Interval = interval ?? (store is IConsumerNotifications ? NotifiedInterval : DefaultInterval);
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _wake = new WakeSignal(Interval, TimeProvider.System);
    }

    private readonly WakeSignal _wake;
    private Task _listener = Task.CompletedTask;

    /// <summary>The polling period.</summary>
    public TimeSpan Interval { get; }

    /// <summary>The newest consumer change applied here (-1 before the first read).</summary>
    public long Seq => Interlocked.Read(ref _seq);

    /// <summary>Reads every application once (so the gateway serves them before the first request), then polls in the background.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        _wake.Start(_stop.Token);
        _loop = Task.Run(() => LoopAsync(_stop.Token), CancellationToken.None);
        if (_store is IConsumerNotifications notifications)
        {
            // Its own connection's outages are logged by the health it is given, once each; polling goes on meanwhile.
            _listener = Task.Run(() => notifications.ListenConsumersAsync(_ => _wake.Raise(), new StoreHealth(_logger), _stop.Token), CancellationToken.None);
        }
    }

    /// <summary>Applies every change committed since the last one seen; returns how many applications changed.</summary>
    public async Task<int> CatchUpAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var from = Math.Max(0, _seq);
            var (changed, seq) = await _store.ReadApplicationsSinceAsync(from, cancellationToken).ConfigureAwait(false);
            var behind = _seq >= 0 && from < await _store.ConsumerHorizonAsync(cancellationToken).ConfigureAwait(false);
            if (behind)
            {
                // A deletion not seen here was pruned from the log: only the whole set can tell which applications are gone.
                (changed, seq) = await _store.ReadApplicationsSinceAsync(0, cancellationToken).ConfigureAwait(false);
            }

            if (_seq < 0 || behind)
            {
                _sink.Reset(changed.Where(a => !a.Deleted).Select(a => a.ToConsumer()));
            }
            else
            {
                foreach (var application in changed)
                {
                    if (application.Deleted)
                    {
                        _sink.Remove(application.Id);
                    }
                    else
                    {
                        _sink.Upsert(application.ToConsumer());
                    }
                }
            }

            Interlocked.Exchange(ref _seq, seq);
            return changed.Count;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task LoopAsync(CancellationToken stopping)
    {
        try
        {
            await foreach (var _ in _wake.WakeUpsAsync(stopping).ConfigureAwait(false))
            {
                try
                {
                    await CatchUpAsync(stopping).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The gateway keeps what it has; the next tick tries again.
                    LogFailed(_logger, e);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _wake.DisposeAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        await _listener.ConfigureAwait(false);
        _stop.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read consumer changes from the store; trying again at the next interval.")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
