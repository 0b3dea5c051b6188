using System.Globalization;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Gatehouse.Gateway.Observability;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Nodes;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// Purges of the response cache on a hybrid data node, both ways (docs/policies.md, "Where answers are kept"). In: the
/// node API's signed batches of the purges recorded in the store's log (<c>GET /node/v1/cache-purges?after=N</c>, a long
/// poll woken when a purge is recorded), each taken only when signed by the pinned key and continuing from the purge this
/// node has, then carried out on its cache (all of it when the batch says purges were missed). Out: an unsafe request's
/// invalidation here is queued (bounded, dropped and counted when full: never a wait on a request) and sent with the others
/// of the moment (<c>POST /node/v1/cache-purges</c>, at most one batch per 50 ms), for the control plane to record for
/// every other node. Nothing is kept on disk: the cache is memory, so a restarted node starts empty and follows the log
/// from where it is then.
/// </summary>
internal sealed partial class CachePurgeFeed : IAsyncDisposable
{
    // As CachePurgeBroadcast: purges of a moment sent together; a node that invalidates faster than they go drops the rest.
    private const int QueueSize = 4096;
    private const int BatchSize = 512;
    private static readonly TimeSpan Spacing = TimeSpan.FromMilliseconds(50);

    private readonly HttpClient _http;
    private readonly Uri _controlPlane;
    private readonly ECDsa _pinned;
    private readonly string _node;
    private readonly GatewayRuntime _runtime;
    private readonly Channel<(string Route, string Path)> _pending =
        Channel.CreateBounded<(string, string)>(new BoundedChannelOptions(QueueSize) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private long _seq = -1;
    private long _dropped;
    private Task _follow = Task.CompletedTask;
    private Task _send = Task.CompletedTask;

    public CachePurgeFeed(HttpClient http, Uri controlPlane, ECDsa pinned, string node, GatewayRuntime runtime)
    {
        (_http, _controlPlane, _pinned, _node, _runtime) = (http, controlPlane, pinned, node, runtime);
    }

    public ILogger Logger { get; set; } = Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;

    /// <summary>The newest purge of the log this node has followed; -1 before its first answer.</summary>
    public long Seq => Interlocked.Read(ref _seq);

    /// <summary>The last batch refused, for the node's report; null when none was.</summary>
    public SnapshotRefusal? Refused { get; private set; }

    public void Start()
    {
        _runtime.CacheInvalidated = Invalidated;
        _follow = Task.Run(FollowAsync);
        _send = Task.Run(SendAsync);
    }

    // On the request path of an unsafe request that got a 2xx or 3xx on a revision with a cached route: a queue write.
    private void Invalidated(string route, string path)
    {
        if (!_pending.Writer.TryWrite((route, path)))
        {
            Dropped(1, null);
        }
    }

    private void Dropped(int count, string? why)
    {
        for (var i = 0; i < count; i++)
        {
            GatewayMetrics.CacheStoreError("broadcast");
        }

        if (why is not null)
        {
            LogNotSent(Logger, count, why);
        }
        else if (Interlocked.Add(ref _dropped, count) == count)
        {
            LogQueueFull(Logger, QueueSize);
        }
    }

    // A control plane from before purges were carried answers 404: the loop only waits then. Meanwhile, and while the
    // control plane cannot be reached, the cache keeps its answers until they expire.
    private Task FollowAsync() => NodeLongPoll.RunAsync(_http, _controlPlane, () =>
    {
        var seq = Seq;
        var path = seq < 0 ? "node/v1/cache-purges" : $"node/v1/cache-purges?after={seq.ToString(CultureInfo.InvariantCulture)}";
        return (path, envelope => ConsiderAsync(envelope, seq));
    }, _stop.Token);

    // Verify, then check that it is for this node and continues from the purge it asked after, then carry it out.
    private async Task<bool> ConsiderAsync(byte[] envelope, long asked)
    {
        var (batch, refusal) = CachePurgeBatch.Verify(envelope, _pinned);
        if (batch is not null)
        {
            if (batch.Node != _node)
            {
                // Another node's batch leaves out that node's purges, and would have this one's carried out again.
                refusal = new SnapshotRefusal("malformed", $"a batch for node '{batch.Node}', not this node ('{_node}')");
            }
            else if (batch.Start != (asked < 0))
            {
                refusal = new SnapshotRefusal("malformed", batch.Start ? $"a first answer, while this node asked after purge {asked}" : "not a first answer, while this node asked for one");
            }
            else if (!batch.Start && batch.After != asked)
            {
                refusal = batch.After < asked
                    ? new SnapshotRefusal("rollback", $"the batch starts after purge {batch.After}, older than purge {asked}, which this node has")
                    : new SnapshotRefusal("gap", $"the batch starts after purge {batch.After}, this node has purge {asked}");
            }
            else if (!batch.Start && !batch.Missed && batch.Seq <= batch.After)
            {
                refusal = new SnapshotRefusal("rollback", $"purge {batch.Seq} is not newer than purge {asked}, which this node has");
            }
        }

        if (batch is null || refusal is not null)
        {
            Refused = refusal;
            NodeBatchMetrics.Refused(NodeBatchMetrics.CachePurges, refusal!.Code);
            LogRefused(Logger, refusal.Code, refusal.Detail);
            return false;
        }

        if (_runtime.Cache is { } cache)
        {
            if (batch.Missed)
            {
                // Which answers the missed purges dropped cannot be told, so every answer goes.
                cache.PurgeAll();
                LogMissed(Logger);
            }

            foreach (var (route, path) in batch.Purges)
            {
                try
                {
                    await cache.PurgeAsync(route, path, _stop.Token).ConfigureAwait(false);
                }
                catch (Gatehouse.Gateway.Policies.Caching.CacheStoreDownException e)
                {
                    // Counted and logged by the shared cache; the log goes on rather than wait on one purge.
                    LogNotApplied(Logger, route, e);
                }
            }
        }

        Interlocked.Exchange(ref _seq, batch.Seq);
        NodeBatchMetrics.Applied(NodeBatchMetrics.CachePurges);
        return true;
    }

    private async Task SendAsync()
    {
        var batch = new List<(string Route, string Path)>(BatchSize);
        var failures = 0;
        try
        {
            // A batch the control plane did not take is held and sent again before anything newer.
            while (batch.Count > 0 || await _pending.Reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (batch.Count < BatchSize && _pending.Reader.TryRead(out var purge))
                {
                    batch.Add(purge);
                }

                var status = await PostAsync(batch).ConfigureAwait(false);
                if (status is null or >= 500)
                {
                    // The control plane is away or restarting: the batch is sent again (new invalidations queue behind
                    // it, bounded), so a short outage loses none.
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(10_000, 250 * (1 << Math.Min(++failures, 6)))), _stop.Token).ConfigureAwait(false);
                    continue;
                }

                failures = 0;
                if (status >= 300)
                {
                    // Refused (a revoked token, a control plane from before purges were carried): sending it again would
                    // be refused again.
                    Dropped(batch.Count, $"the control plane answered {status}");
                }

                batch.Clear();
                await Task.Delay(Spacing, _stop.Token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task<int?> PostAsync(List<(string Route, string Path)> batch)
    {
        var purges = new JsonArray();
        foreach (var (route, path) in batch)
        {
            purges.Add(new JsonObject { ["route"] = route, ["path"] = path });
        }

        try
        {
            using var content = new StringContent(new JsonObject { ["purges"] = purges }.ToJsonString(), Encoding.UTF8, "application/json");
            using var response = await _http.PostAsync(new Uri(_controlPlane, "node/v1/cache-purges"), content, _stop.Token).ConfigureAwait(false);
            return (int)response.StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or IOException || (e is TaskCanceledException && !_stop.IsCancellationRequested))
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _runtime.CacheInvalidated = null;
        await _stop.CancelAsync().ConfigureAwait(false);
        await _follow.ConfigureAwait(false);
        await _send.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused cache purges from the control plane ({Code}: {Detail}); the answers here stay until they expire or a purge is taken.")]
    private static partial void LogRefused(ILogger logger, string code, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "This node missed cache purges (older than the store keeps, or the store is older than this node): its whole response cache was dropped.")]
    private static partial void LogMissed(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A purge of route {Route} from the control plane did not reach the shared cache here.")]
    private static partial void LogNotApplied(ILogger logger, string route, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cache invalidations are made faster than the control plane takes them: {Size} are waiting, and the others are not passed to the other nodes (counted in gatehouse_cache_store_errors_total{{operation=\"broadcast\"}}).")]
    private static partial void LogQueueFull(ILogger logger, int size);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} cache invalidations were not passed to the other nodes ({Why}); their answers expire there as set.")]
    private static partial void LogNotSent(ILogger logger, int count, string why);
}
