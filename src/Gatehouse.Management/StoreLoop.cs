using Gatehouse.Management.Stores;

namespace Gatehouse.Management;

/// <summary>
/// A background loop that looks at the store: <paramref name="round"/> runs at once, then every <paramref name="interval"/>,
/// on <see cref="Raise"/> (a commit made in this process), and with <paramref name="listen"/> as soon as
/// PostgreSQL's NOTIFY of another process's commit arrives on its dedicated listening connection
/// (<see cref="IRevisionNotifications.ListenAsync"/> or <see cref="IConsumerNotifications.ListenConsumersAsync"/>). A round that works ends
/// an outage others recorded in <paramref name="health"/>; one that fails is recorded (one line per outage), waits the
/// back-off, and is tried again after it, since the wake-up that failed may have been a notification that will not come
/// again. The revision follower and the node API's revision watch are this loop with their own round.
/// </summary>
internal sealed class StoreLoop(Func<CancellationToken, Task> round, TimeSpan interval, StoreHealth health, TimeProvider time, Func<Action<long>, StoreHealth, CancellationToken, Task>? listen)
    : IAsyncDisposable
{
    private readonly WakeSignal _wake = new(interval, time);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;
    private Task _listener = Task.CompletedTask;

    public void Start()
    {
        _wake.Start(_stop.Token);
        _loop = Task.Run(LoopAsync);
        if (listen is not null)
        {
            _listener = Task.Run(() => listen(_ => _wake.Raise(), health, _stop.Token));
        }
    }

    /// <summary>Runs a round soon.</summary>
    public void Raise() => _wake.Raise();

    private async Task LoopAsync()
    {
        try
        {
            await foreach (var _ in _wake.WakeUpsAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    await round(_stop.Token).ConfigureAwait(false);
                    health.Succeeded();
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    health.Failed(e);
                    await health.WaitBackOffAsync(_stop.Token).ConfigureAwait(false);
                    _wake.Raise();
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
        await _loop.ConfigureAwait(false);
        await _listener.ConfigureAwait(false);
        _stop.Dispose();
    }
}
