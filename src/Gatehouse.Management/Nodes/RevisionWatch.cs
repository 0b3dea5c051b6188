using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Nodes;

/// <summary>
/// The store's newest revision as the node API knows it, and a way to wait for a newer one (long polls). It learns of
/// commits made in this process at once (<see cref="Raise"/>), of other control planes' commits from PostgreSQL's NOTIFY,
/// and by polling every <paramref name="interval"/> otherwise (SQLite shared by several control planes). Given
/// <paramref name="read"/>, it watches that number instead (the newest consumer change), by polling only.
/// </summary>
internal sealed class RevisionWatch(IConfigStore store, StoreHealth health, TimeSpan interval, Func<CancellationToken, Task<long>>? read = null) : IAsyncDisposable
{
    private readonly WakeSignal _wake = new(interval, TimeProvider.System);
    private readonly CancellationTokenSource _stop = new();
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _current = -1;
    private Task _loop = Task.CompletedTask;
    private Task _listener = Task.CompletedTask;

    /// <summary>The newest revision seen; -1 before the first look.</summary>
    public long Current => Interlocked.Read(ref _current);

    public void Start()
    {
        _wake.Start(_stop.Token);
        _loop = Task.Run(LoopAsync);
        if (read is null && store is IRevisionNotifications notifications)
        {
            _listener = Task.Run(() => notifications.ListenAsync(_ => _wake.Raise(), health, _stop.Token));
        }
    }

    /// <summary>Looks at the store again soon (a commit was made here).</summary>
    public void Raise() => _wake.Raise();

    /// <summary>Waits until the newest revision is greater than <paramref name="after"/>, or <paramref name="timeout"/> passes; returns it.</summary>
    public async Task<long> WaitNewerAsync(long after, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        while (Current <= after)
        {
            var changed = Volatile.Read(ref _changed).Task;
            if (Current > after)
            {
                break;
            }

            try
            {
                await changed.WaitAsync(deadline.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                break;
            }
        }

        return Current;
    }

    private async Task LoopAsync()
    {
        try
        {
            await foreach (var _ in _wake.WakeUpsAsync(_stop.Token).ConfigureAwait(false))
            {
                try
                {
                    var revision = await (read ?? store.CurrentRevisionAsync)(_stop.Token).ConfigureAwait(false);
                    // The store answered: an outage others recorded is over. Without this, failures counted by admin
                    // requests (which record failures only) kept the shared back-off high, and this loop then waited up to
                    // 30 s after its next failure while nodes long-polled for a revision it had not seen.
                    health.Succeeded();
                    if (revision != Current)
                    {
                        Interlocked.Exchange(ref _current, revision);
                        Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                    }
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
