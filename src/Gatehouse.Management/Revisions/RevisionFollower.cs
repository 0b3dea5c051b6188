using Gatehouse.Management.Admin;
using Gatehouse.Management.Nodes;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Validation;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Revisions;

/// <summary>
/// Serves the revisions other processes commit to the shared store: it reads the store's newest revision and hands it
/// to the gateway when it is newer than the one served. It wakes every <see cref="DefaultInterval"/> (polling, which
/// every store supports and which stays as the fallback), and on PostgreSQL also as soon as a commit's
/// <c>NOTIFY</c> arrives on a dedicated listening connection, so a change is served everywhere well within a second.
/// </summary>
public sealed class RevisionFollower : IAsyncDisposable
{
    /// <summary>How often the store is asked for its newest revision, notifications or not.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(2);

    private readonly ConfigChanges _changes;
    private readonly StoreHealth _health;
    private readonly WakeSignal _wake;
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private Task _listener = Task.CompletedTask;

    internal RevisionFollower(ConfigChanges changes, TimeSpan interval, StoreHealth health, TimeProvider time)
    {
        _changes = changes;
        _health = health;
        _wake = new WakeSignal(interval, time);
    }

    /// <summary>Whether commits are heard at once (the store notifies) rather than only at the next poll.</summary>
    public bool Notified => _changes.Store is IRevisionNotifications;

    /// <summary>
    /// A follower for a process without an admin API (<c>--role data</c> on a shared store): <paramref name="apply"/> is
    /// the gateway's, <paramref name="node"/> is told of each revision applied.
    /// </summary>
    public static RevisionFollower Create(
        IConfigStore store,
        string baseDirectory,
        Func<string, string?>? environment,
        long servedRevision,
        Func<GatehouseConfig, IReadOnlyList<ConfigError>> apply,
        NodeReporter? node,
        StoreHealth health,
        ILoggerFactory loggers,
        TimeSpan? interval = null)
    {
        var options = new AdminApiOptions
        {
            Store = store,
            // Nothing here checks admin tokens: this follower's ConfigChanges is never behind an endpoint.
            TokenSha256 = "",
            Apply = apply,
            ServedRevision = servedRevision,
            BaseDirectory = baseDirectory,
            Environment = environment,
            Node = node,
        };
        return new RevisionFollower(new ConfigChanges(options, loggers.CreateLogger<ConfigChanges>()), interval ?? DefaultInterval, health, TimeProvider.System);
    }

    /// <summary>Starts following: a first look at once, then on every notification and every interval.</summary>
    public void Start()
    {
        _wake.Start(_stop.Token);
        _loop = Task.Run(LoopAsync);
        if (_changes.Store is IRevisionNotifications notifications)
        {
            _listener = Task.Run(() => notifications.ListenAsync(_ => _wake.Raise(), _health, _stop.Token));
        }
    }

    private async Task LoopAsync()
    {
        try
        {
            await foreach (var _ in _wake.WakeUpsAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await _changes.CatchUpAsync(_stop.Token).ConfigureAwait(false);
                    _health.Succeeded();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // One line per outage (StoreHealth), and fewer attempts while it lasts.
                    _health.Failed(e);
                    await _health.WaitBackOffAsync(_stop.Token).ConfigureAwait(false);
                    // The wake-up that failed may have been a notification, which will not come again: look again after
                    // the back-off rather than at the next tick.
                    _wake.Raise();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops following (the served revision stays).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _wake.DisposeAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        await _listener.ConfigureAwait(false);
        _stop.Dispose();
    }
}
