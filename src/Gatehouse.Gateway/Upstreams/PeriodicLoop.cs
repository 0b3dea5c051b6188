namespace Gatehouse.Gateway.Upstreams;

/// <summary>
/// The background loop of an upstream's periodic work (DNS discovery, active health checks): one round now, or
/// once a given task completes, then one every period of a <see cref="TimeProvider"/> timer, never two at once,
/// until stopped.
/// </summary>
internal sealed class PeriodicLoop : IAsyncDisposable
{
    private readonly TimeSpan _period;
    private readonly TimeProvider _time;
    private readonly Func<CancellationToken, Task> _round;
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _firstRound = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private PeriodicTimer? _timer;
    private Task _loop = Task.CompletedTask;
    private long _rounds;

    /// <param name="period">Time between rounds.</param>
    /// <param name="time">Drives the timer.</param>
    /// <param name="round">One round; it ends with <see cref="OperationCanceledException"/> when the token it is given is cancelled.</param>
    public PeriodicLoop(TimeSpan period, TimeProvider time, Func<CancellationToken, Task> round)
    {
        _period = period;
        _time = time;
        _round = round;
    }

    /// <summary>Completed rounds; lets tests wait for one instead of sleeping.</summary>
    public long Rounds => Interlocked.Read(ref _rounds);

    /// <summary>Completes when the first round has finished, whatever its outcome, or when the loop ends.</summary>
    public Task FirstRound => _firstRound.Task;

    /// <summary>Runs a round now (or once <paramref name="after"/> completes), then every period, until stopped. Only the first call starts it.</summary>
    public void Start(Task? after = null)
    {
        if (_timer is not null)
        {
            return;
        }

        // The timer exists before Start returns, so a tick (a fake clock advanced right after Start) is never lost.
        _timer = new PeriodicTimer(_period, _time);

        // Upstreams are often started from inside a request (a config reload through the admin API); without
        // this the loop would carry that request's Activity and AsyncLocals for its whole life.
        using (ExecutionContext.SuppressFlow())
        {
            _loop = Task.Run(() => RunAsync(_timer, after ?? Task.CompletedTask, _stop.Token));
        }
    }

    /// <summary>Stops the loop and waits for a round in progress to end. Idempotent.</summary>
    public async Task StopAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        _timer?.Dispose();
        await _loop.ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async Task RunAsync(PeriodicTimer timer, Task after, CancellationToken stop)
    {
        try
        {
            await after.WaitAsync(stop).ConfigureAwait(false);
            do
            {
                await _round(stop).ConfigureAwait(false);
                Interlocked.Increment(ref _rounds);
                _firstRound.TrySetResult();
            }
            while (await timer.WaitForNextTickAsync(stop).ConfigureAwait(false));
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
        finally
        {
            _firstRound.TrySetResult();
        }
    }
}
