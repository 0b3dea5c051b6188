using System.Text.Json.Nodes;
using Gatehouse.Management.Stores;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Nodes;

/// <summary>
/// Keeps this process's row in the store's <c>nodes</c> table: the revision its gateway serves, reported at once when
/// it changes, and a heartbeat every <see cref="Interval"/> (which refreshes <c>last_seen</c>). All store calls run
/// on one background loop, never on a request path; a failed report is logged and retried at the next beat.
/// </summary>
public sealed partial class NodeReporter : IAsyncDisposable
{
    /// <summary>How often a node reports when nothing changes.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(15);

    /// <summary>A node not seen for this many intervals is listed as stale.</summary>
    public const int StaleAfterIntervals = 3;

    private readonly IConfigStore _store;
    private readonly ILogger _logger;
    private readonly string _info;
    private readonly CancellationTokenSource _stop = new();
    // However many revisions are applied meanwhile, the next report sends the latest.
    private readonly WakeSignal _wake;
    private readonly StoreHealth? _health;
    private readonly NodeLease? _lease;
    private readonly TimeProvider _time;
    private Task _reporter = Task.CompletedTask;
    private long _revision;

    /// <param name="store">Where the node reports.</param>
    /// <param name="id">This node's id, stable for the life of the process.</param>
    /// <param name="revision">The revision served at start.</param>
    /// <param name="interval">Heartbeat period; default <see cref="DefaultInterval"/>.</param>
    /// <param name="time">The clock of the heartbeat timer.</param>
    /// <param name="logger">Where failed reports are logged.</param>
    /// <param name="health">Shared record of whether the store answers: logs an outage once, and backs this loop off while it lasts.</param>
    /// <param name="lease">
    /// This process's hold on <paramref name="id"/> (<see cref="NodeLease.AcquireAsync"/>): each heartbeat is written only
    /// while it holds the id; once another process does, the heartbeat notes the clash on that process's row instead.
    /// Without one, each report simply replaces the row.
    /// </param>
    public NodeReporter(IConfigStore store, string id, long revision, TimeSpan? interval = null, TimeProvider? time = null, ILogger? logger = null, StoreHealth? health = null, NodeLease? lease = null)
    {
        _lease = lease;
        _time = time ?? TimeProvider.System;
        _health = health;
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrEmpty(id);
        _store = store;
        Id = id;
        _revision = revision;
        Interval = interval ?? DefaultInterval;
        _wake = new WakeSignal(Interval, time ?? TimeProvider.System);
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        _info = lease?.Info ?? new JsonObject
        {
            ["host"] = Environment.MachineName,
            ["pid"] = Environment.ProcessId,
            ["version"] = typeof(NodeReporter).Assembly.GetName().Version?.ToString(),
            ["startedAt"] = (time ?? TimeProvider.System).GetUtcNow(),
        }.ToJsonString();
    }

    /// <summary>This node's id.</summary>
    public string Id { get; }

    /// <summary>The heartbeat period.</summary>
    public TimeSpan Interval { get; }

    /// <summary>The revision last reported as applied.</summary>
    public long Revision => Interlocked.Read(ref _revision);

    /// <summary>The default id of a node: host name and process id, e.g. <c>gw-1:4242</c>.</summary>
    public static string DefaultId() => $"{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>Reports once now, then every <see cref="Interval"/> and whenever <see cref="Applied"/> is called.</summary>
    public void Start()
    {
        _wake.Start(_stop.Token);
        _reporter = Task.Run(ReportLoopAsync);
    }

    /// <summary>Records that <paramref name="revision"/> now serves and reports it soon, off the caller's path.</summary>
    public void Applied(long revision)
    {
        long seen;
        do
        {
            seen = Interlocked.Read(ref _revision);
            if (revision <= seen)
            {
                return;
            }
        }
        while (Interlocked.CompareExchange(ref _revision, revision, seen) != seen);

        _wake.Raise();
    }

    private async Task ReportLoopAsync()
    {
        try
        {
            await foreach (var _ in _wake.WakeUpsAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await ReportAsync().ConfigureAwait(false);
                    _health?.Succeeded();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (_health is null)
                    {
                        LogReportFailed(_logger, Id, StoreHealth.Reason(e));
                    }
                    else
                    {
                        _health.Failed(e);
                        await _health.WaitBackOffAsync(_stop.Token).ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The process that holds this node's id instead of this one (two nodes started with one id); null while none does.</summary>
    public NodeInfo? Clash => _lease?.Holder;

    private async Task ReportAsync()
    {
        if (_lease is null)
        {
            await _store.UpsertNodeAsync(Id, Revision, _info, _stop.Token).ConfigureAwait(false);
            return;
        }

        if (!_lease.Lost)
        {
            var holder = await _store.ClaimNodeAsync(Id, _lease.Instance, Revision, _info, _time.GetUtcNow() - _lease.Live, null, _stop.Token).ConfigureAwait(false);
            if (holder is null)
            {
                return;
            }

            if (_lease.Lose(holder))
            {
                LogClash(_logger, NodeLease.InUse(Id, holder, _time));
            }
        }

        // For as long as this process runs, the holder's row says that another process also runs under its id.
        await _store.MarkNodeClashAsync(Id, _lease.ClashNote(_time.GetUtcNow()), _stop.Token).ConfigureAwait(false);
    }

    /// <summary>Stops reporting (the row stays; it turns stale after <see cref="StaleAfterIntervals"/> intervals).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _wake.DisposeAsync().ConfigureAwait(false);
        await _reporter.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Reason} This node no longer reports under it and writes no usage rows (it counts what it drops); restart it with an id of its own.")]
    private static partial void LogClash(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Node {Id} could not report to the store ({Reason}); trying again at the next heartbeat.")]
    private static partial void LogReportFailed(ILogger logger, string id, string reason);
}
