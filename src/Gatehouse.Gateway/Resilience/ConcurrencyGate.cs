namespace Gatehouse.Gateway.Resilience;

/// <summary>
/// A service's concurrency limits (<c>concurrency.maxRequests</c>, <c>maxPending</c>). Entering is one Interlocked
/// increment while under the limit; only requests past it take the lock, to wait in line or be refused.
/// </summary>
/// <remarks>
/// Hand-written rather than <c>System.Threading.RateLimiting.ConcurrencyLimiter</c> (or Polly's rate limiter strategy
/// over it): that one takes a lock and allocates a lease on every acquire, and this sits on every request to the
/// service. Waiters are served in order; one that gave up stays in the line until its turn, then passes its slot on.
/// </remarks>
internal sealed class ConcurrencyGate(int maxRequests, int maxPending)
{
    private readonly Lock _lock = new();
    private readonly Queue<TaskCompletionSource<bool>> _waiters = new();
    private int _active;
    private int _pending;

    public int MaxRequests => maxRequests;

    /// <summary>Requests holding a slot now.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Takes a slot if one is free now.</summary>
    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _active) <= maxRequests)
        {
            return true;
        }

        Interlocked.Decrement(ref _active);
        return false;
    }

    /// <summary>Takes a slot, waiting in line (up to <c>maxPending</c> others) for one; false when refused or cancelled.</summary>
    public async ValueTask<bool> EnterAsync(CancellationToken cancellationToken)
    {
        if (TryEnter())
        {
            return true;
        }

        if (maxPending == 0)
        {
            return false;
        }

        TaskCompletionSource<bool> waiter;
        lock (_lock)
        {
            if (_pending >= maxPending)
            {
                return false;
            }

            _pending++;
            // Exit decrements, then looks for waiters: a slot freed before we counted ourselves is seen here.
            if (TryEnter())
            {
                _pending--;
                return true;
            }

            waiter = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Enqueue(waiter);
        }

        using (cancellationToken.UnsafeRegister(static w => ((TaskCompletionSource<bool>)w!).TrySetResult(false), waiter))
        {
            return await waiter.Task.ConfigureAwait(false);
        }
    }

    /// <summary>Gives a slot back, handing it to the first waiter when there is one.</summary>
    public void Exit()
    {
        Interlocked.Decrement(ref _active);
        if (Volatile.Read(ref _pending) == 0)
        {
            return;
        }

        lock (_lock)
        {
            while (_waiters.Count > 0 && TryEnter())
            {
                var waiter = _waiters.Dequeue();
                _pending--;
                if (waiter.TrySetResult(true))
                {
                    continue;
                }

                // It gave up (cancelled) before its turn: the slot goes to the next one.
                Interlocked.Decrement(ref _active);
            }
        }
    }
}
