using System.Threading.Channels;
using Gatehouse.Gateway.Observability;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Management;
using Gatehouse.Management.Stores;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Caching;

/// <summary>
/// Passes the purges of this node's memory cache to the other nodes sharing its store, and theirs to it (docs/policies.md,
/// "Where answers are kept"). A purge through the admin API is recorded before the API answers; an unsafe request's
/// invalidation is queued here (bounded, dropped and counted when full: never a wait on a request) and written with the
/// others of the moment in one batch. The other nodes read the log at once when PostgreSQL notifies them, and every
/// interval besides, and drop the same answers from their own memory. A node that was away longer than the log is kept
/// (an hour) cannot tell which purges it missed and drops its whole cache. A gateway whose cache is Redis
/// (<c>gateway.cache.redis</c>) records nothing: every node reads that one store, so its purges reach them all already. A
/// control-plane node (no gateway, no cache) records every purge its admin API takes, and the gateways carry it out on
/// their cache, whichever it is.
/// </summary>
internal sealed partial class CachePurgeBroadcast : IAsyncDisposable
{
    /// <summary>How long purges are kept in the store for nodes that were away.</summary>
    public static readonly TimeSpan Keep = ICachePurgeStore.Keep;

    // Purges of a moment written together; a node that invalidates faster than its store takes them drops the rest.
    private const int QueueSize = 4096;
    private const int BatchSize = 512;

    // The least time between two batches a node writes: a burst of writes through the gateway is one transaction (and on
    // PostgreSQL one NOTIFY, which takes a database-wide lock at commit) per 50 ms, not one per request.
    private static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(50);

    private readonly ICachePurgeStore _store;
    private readonly string _node;
    private readonly GatewayRuntime? _runtime;
    private readonly ILogger _logger;
    private readonly Channel<(string Route, string? Path)> _pending =
        Channel.CreateBounded<(string, string?)>(new BoundedChannelOptions(QueueSize) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly WakeSignal _wake;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _gate = new(1, 1);
    private Task _loop = Task.CompletedTask;
    private Task _listener = Task.CompletedTask;
    private long _seq;
    private long _dropped;

    /// <summary>For a node of <paramref name="store"/>, or null when that store cannot pass purges on.</summary>
    public static CachePurgeBroadcast? For(Management.Stores.IConfigStore store, string node, GatewayRuntime? runtime, ILogger logger) =>
        store is ICachePurgeStore purges
            ? new CachePurgeBroadcast(purges, node, runtime, purges.NotifiesCachePurges ? Management.Consumers.ConsumerFollower.NotifiedInterval : Management.Consumers.ConsumerFollower.DefaultInterval, logger)
            : null;

    public CachePurgeBroadcast(ICachePurgeStore store, string node, GatewayRuntime? runtime, TimeSpan interval, ILogger logger)
    {
        _store = store;
        _node = node;
        _runtime = runtime;
        _logger = logger;
        _wake = new WakeSignal(interval, TimeProvider.System);
    }

    /// <summary>The newest purge this node has read (its own included).</summary>
    public long Seq => Interlocked.Read(ref _seq);

    /// <summary>Starts from the newest purge recorded (this node's cache holds nothing older), then follows the log.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _seq = await _store.NewestCachePurgeAsync(cancellationToken).ConfigureAwait(false);
        if (_runtime is null)
        {
            return; // a control plane only records: it has no cache to follow the others' purges with
        }

        _runtime.CacheInvalidated = Invalidated;
        _wake.Start(_stop.Token);
        _loop = Task.Run(() => LoopAsync(_stop.Token), CancellationToken.None);
        if (_store.NotifiesCachePurges)
        {
            _listener = Task.Run(() => _store.ListenCachePurgesAsync(_ => _wake.Raise(), new StoreHealth(_logger), _stop.Token), CancellationToken.None);
        }
    }

    // On the request path of an unsafe request that got a 2xx or 3xx on a revision with a cached route: a queue write.
    private void Invalidated(string route, string path)
    {
        if (_pending.Writer.TryWrite((route, path)))
        {
            _wake.Raise();
            return;
        }

        GatewayMetrics.CacheStoreError("broadcast");
        if (Interlocked.Increment(ref _dropped) == 1)
        {
            LogQueueFull(_logger, QueueSize);
        }
    }

    /// <summary>
    /// An admin purge: drops the answers here (the count; null from the shared cache, or on a node without a gateway), then
    /// records the purge for the other nodes before it returns. Throws <see cref="InvalidOperationException"/> when the store did not take it (the
    /// answers here are gone all the same).
    /// </summary>
    public async Task<int?> PurgeAsync(string route, string? path, CancellationToken cancellationToken)
    {
        var cache = _runtime?.Cache;
        var purged = _runtime is null ? null : cache is null ? 0 : await cache.PurgeAsync(route, path, cancellationToken).ConfigureAwait(false);
        if (cache is { Shared: true })
        {
            return purged;
        }

        try
        {
            await _store.AddCachePurgesAsync(_node, [(route, path)], Keep, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (StoreHealth.IsStoreFailure(e))
        {
            GatewayMetrics.CacheStoreError("broadcast");
            throw new InvalidOperationException(
                $"This node dropped its answers, but the store did not take the purge, so the other nodes still hold theirs ({e.Message}); send the purge again when the store answers.", e);
        }

        _wake.Raise();
        return purged;
    }

    /// <summary>Writes the queued invalidations and applies the other nodes' purges; true when it wrote a batch.</summary>
    public async Task<bool> RoundAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var batch = new List<(string, string?)>();
            while (batch.Count < BatchSize && _pending.Reader.TryRead(out var purge))
            {
                batch.Add(purge);
            }

            if (batch.Count > 0)
            {
                try
                {
                    await _store.AddCachePurgesAsync(_node, batch, Keep, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (StoreHealth.IsStoreFailure(e))
                {
                    // The requests have their answers; what they changed reaches the other nodes' caches at their expiry.
                    for (var i = 0; i < batch.Count; i++)
                    {
                        GatewayMetrics.CacheStoreError("broadcast");
                    }

                    LogNotRecorded(_logger, batch.Count, e);
                }

                if (_pending.Reader.Count > 0)
                {
                    _wake.Raise();
                }
            }

            await ApplyOthersAsync(cancellationToken).ConfigureAwait(false);
            return batch.Count > 0;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task ApplyOthersAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var (purges, oldest) = await _store.ReadCachePurgesAsync(_seq, BatchSize, cancellationToken).ConfigureAwait(false);
            if (oldest > _seq + 1)
            {
                // Purges after the last one read here were forgotten before this node read them: which answers they
                // dropped cannot be told, so every answer goes.
                _runtime?.Cache?.PurgeAll();
                LogMissed(_logger);
            }

            foreach (var purge in purges)
            {
                // A gateway on the shared cache records none, so a purge here from another node on it came from a control
                // plane, and goes to that cache as well.
                if (purge.Node != _node && _runtime?.Cache is { } cache)
                {
                    try
                    {
                        await cache.PurgeAsync(purge.Route, purge.Path, cancellationToken).ConfigureAwait(false);
                    }
                    catch (Gatehouse.Gateway.Policies.Caching.CacheStoreDownException e)
                    {
                        // Counted and logged by the shared cache; the log goes on rather than wait on one purge.
                        LogNotApplied(_logger, purge.Route, e);
                    }
                }

                Interlocked.Exchange(ref _seq, purge.Seq);
            }

            if (purges.Count < BatchSize)
            {
                return;
            }
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
                    if (await RoundAsync(stopping).ConfigureAwait(false))
                    {
                        await Task.Delay(Spacing, stopping).ConfigureAwait(false);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The cache keeps what it has; the next round reads on from the last purge applied.
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
        if (_runtime is not null)
        {
            _runtime.CacheInvalidated = null;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _wake.DisposeAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _listener.ConfigureAwait(false);
        _stop.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache invalidations are made faster than the store takes them: {Size} are waiting, and the others are not passed to the other nodes (counted in gatehouse_cache_store_errors_total{{operation=\"broadcast\"}}).")]
    private static partial void LogQueueFull(ILogger logger, int size);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} cache invalidations could not be passed to the other nodes through the store; their answers expire there as set.")]
    private static partial void LogNotRecorded(ILogger logger, int count, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A purge of route {Route} that another node took did not reach the shared cache here.")]
    private static partial void LogNotApplied(ILogger logger, string route, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "This node missed cache purges older than the store keeps (an hour): its whole response cache was dropped.")]
    private static partial void LogMissed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read the other nodes' cache purges from the store; trying again at the next interval.")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
