using Gatehouse.Management.Stores;
using Gatehouse.Model.Registrations;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Registrations;

/// <summary>
/// Brings the store's live registrations to this process's gateway: reads them every <see cref="Interval"/> (and at
/// once when <see cref="RefreshAsync"/> asks) and hands the whole set to <c>apply</c>, grouped by service. It also
/// deletes expired rows now and then. A failed read is logged once per outage; the gateway keeps the set it had, and
/// drops each target at its <c>expiresAt</c> by its own clock, so a target whose heartbeats stopped leaves even then.
/// </summary>
public sealed partial class RegistrationFollower : IAsyncDisposable
{
    /// <summary>How often the store is read when nothing asks sooner.</summary>
    public static readonly TimeSpan DefaultInterval = TimeSpan.FromSeconds(1);

    /// <summary>How often expired rows are deleted from the store.</summary>
    public static readonly TimeSpan CleanupInterval = TimeSpan.FromMinutes(1);

    private readonly IConfigStore _store;
    private readonly Action<IReadOnlyDictionary<string, IReadOnlyList<RegisteredTarget>>> _apply;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    // However many asks arrive during a round, one more round answers them all.
    private readonly WakeSignal _wake;
    private TaskCompletionSource _nextRound = NewRound();
    private readonly StoreHealth? _health;
    private Task _follower = Task.CompletedTask;
    private DateTimeOffset _lastCleanup = DateTimeOffset.MinValue;
    private bool _failing;
    private long _rounds;
    // What the last round handed to the gateway: each (service, url) and its expiry.
    private volatile Dictionary<(string Service, string Url), DateTimeOffset> _routed = [];

    /// <param name="store">Where registrations are kept.</param>
    /// <param name="apply">Receives every live registration by service (the gateway's <c>SetRegistrations</c>).</param>
    /// <param name="interval">Time between reads; default <see cref="DefaultInterval"/>.</param>
    /// <param name="time">The clock that decides what is live; it should be the store's and the gateway's.</param>
    /// <param name="logger">Where failed reads are logged.</param>
    /// <param name="health">Shared record of whether the store answers: logs an outage once, and backs this loop off while it lasts.</param>
    public RegistrationFollower(
        IConfigStore store,
        Action<IReadOnlyDictionary<string, IReadOnlyList<RegisteredTarget>>> apply,
        TimeSpan? interval = null,
        TimeProvider? time = null,
        ILogger? logger = null,
        StoreHealth? health = null)
    {
        _health = health;
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(apply);
        _store = store;
        _apply = apply;
        _time = time ?? TimeProvider.System;
        Interval = interval ?? DefaultInterval;
        _wake = new WakeSignal(Interval, _time);
        _logger = logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
    }

    /// <summary>Time between reads of the store.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Completed rounds (successful or not); lets tests wait for one.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Reads once now, then every <see cref="Interval"/> and whenever <see cref="RefreshAsync"/> is called.</summary>
    public void Start()
    {
        _wake.Start(_stop.Token);
        _follower = Task.Run(FollowLoopAsync);
    }

    /// <summary>
    /// True when the gateway already routes to <paramref name="url"/> for <paramref name="service"/> and will until at
    /// least <paramref name="until"/> (by the last read): a heartbeat then need not wait for a read of its own.
    /// </summary>
    public bool RoutesUntil(string service, string url, DateTimeOffset until) =>
        _routed.TryGetValue((service, url), out var expires) && expires >= until;

    /// <summary>
    /// Asks for a read now; completes when a round that started after this call has finished (so a registration written
    /// before the call has reached the gateway, unless the store failed).
    /// </summary>
    public Task RefreshAsync()
    {
        // The round that swaps this source out starts after we read it, so after the caller's write.
        var round = Volatile.Read(ref _nextRound).Task;
        _wake.Raise();
        return round;
    }

    private static TaskCompletionSource NewRound() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private async Task FollowLoopAsync()
    {
        try
        {
            await foreach (var _ in _wake.WakeUpsAsync(_stop.Token).ConfigureAwait(false))
            {
                var round = Interlocked.Exchange(ref _nextRound, NewRound());
                try
                {
                    await RoundAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    if (_health is not null)
                    {
                        _health.Failed(e);
                    }
                    else if (!_failing)
                    {
                        _failing = true;
                        LogReadFailed(_logger, StoreHealth.Reason(e));
                    }
                }
                finally
                {
                    Interlocked.Increment(ref _rounds);
                    round.TrySetResult();
                }

                if (_health is { IsDown: true })
                {
                    await _health.WaitBackOffAsync(_stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            Volatile.Read(ref _nextRound).TrySetResult();
        }
    }

    private async Task RoundAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var rows = await _store.ListRegistrationsAsync(now, cancellationToken).ConfigureAwait(false);
        var live = new Dictionary<string, IReadOnlyList<RegisteredTarget>>(StringComparer.Ordinal);
        var routed = new Dictionary<(string Service, string Url), DateTimeOffset>(rows.Count);
        foreach (var group in rows.GroupBy(r => r.Service, StringComparer.Ordinal))
        {
            var targets = new List<RegisteredTarget>();
            foreach (var row in group)
            {
                // Rows are written by the admin API in normalized form; one written by something else is skipped.
                if (Uri.TryCreate(row.Url, UriKind.Absolute, out var url))
                {
                    targets.Add(new RegisteredTarget(url, row.ExpiresAt));
                    routed[(row.Service, row.Url)] = row.ExpiresAt;
                }
            }

            live[group.Key] = targets;
        }

        _apply(live);
        _routed = routed;
        _health?.Succeeded();
        if (_failing)
        {
            _failing = false;
            LogReadRecovered(_logger);
        }

        if (now - _lastCleanup >= CleanupInterval)
        {
            _lastCleanup = now;
            var deleted = await _store.DeleteExpiredRegistrationsAsync(now, cancellationToken).ConfigureAwait(false);
            if (deleted > 0)
            {
                LogExpiredDeleted(_logger, deleted);
            }
        }
    }

    /// <summary>Stops following (the gateway keeps the last set, each target until it expires).</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _wake.DisposeAsync().ConfigureAwait(false);
        await _follower.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not read registrations from the store ({Reason}); the gateway keeps the ones it has until they expire. Trying again every interval.")]
    private static partial void LogReadFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Registrations are read from the store again.")]
    private static partial void LogReadRecovered(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted {Count} expired registrations from the store.")]
    private static partial void LogExpiredDeleted(ILogger logger, int count);
}
