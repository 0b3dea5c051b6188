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
    private readonly StoreLoop _loop;

    internal RevisionFollower(ConfigChanges changes, TimeSpan interval, StoreHealth health, TimeProvider time)
    {
        _changes = changes;
        _loop = new StoreLoop(changes.CatchUpAsync, interval, health, time, changes.Store is IRevisionNotifications notifications ? notifications.ListenAsync : null);
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
    public void Start() => _loop.Start();

    /// <summary>Stops following (the served revision stays).</summary>
    public ValueTask DisposeAsync() => _loop.DisposeAsync();
}
