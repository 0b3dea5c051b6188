using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Nodes;

/// <summary>
/// The store's newest revision as the node API knows it, and a way to wait for a newer one (long polls). It learns of
/// commits made in this process at once (<see cref="Raise"/>), of other control planes' commits from PostgreSQL's NOTIFY,
/// and by polling every interval otherwise (SQLite shared by several control planes). Given a
/// read of its own, it watches that number instead (the newest consumer change), woken by <c>listen</c> when given.
/// </summary>
internal sealed class RevisionWatch : IAsyncDisposable
{
    private readonly IConfigStore _store;
    private readonly Func<CancellationToken, Task<long>>? _read;
    private readonly StoreLoop _loop;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _current = -1;

    public RevisionWatch(IConfigStore store, StoreHealth health, TimeSpan interval, Func<CancellationToken, Task<long>>? read = null,
        Func<Action<long>, StoreHealth, CancellationToken, Task>? listen = null)
    {
        (_store, _read) = (store, read);
        _loop = new StoreLoop(LookAsync, interval, health, TimeProvider.System, read is not null ? listen : store is IRevisionNotifications notifications ? notifications.ListenAsync : null);
    }

    /// <summary>The newest revision seen; -1 before the first look.</summary>
    public long Current => Interlocked.Read(ref _current);

    public void Start() => _loop.Start();

    /// <summary>Looks at the store again soon (a commit was made here).</summary>
    public void Raise() => _loop.Raise();

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

    // The store answered: the loop then ends an outage others recorded. (Before it did, failures counted by admin requests,
    // which record failures only, kept the shared back-off high, and a watch that failed once then waited up to 30 s while
    // nodes long-polled for a revision it had not seen.)
    private async Task LookAsync(CancellationToken cancellationToken)
    {
        var revision = await (_read ?? _store.CurrentRevisionAsync)(cancellationToken).ConfigureAwait(false);
        if (revision != Current)
        {
            Interlocked.Exchange(ref _current, revision);
            Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    public ValueTask DisposeAsync() => _loop.DisposeAsync();
}
