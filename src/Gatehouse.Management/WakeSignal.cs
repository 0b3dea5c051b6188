using System.Threading.Channels;

namespace Gatehouse.Management;

/// <summary>
/// What wakes one background loop: a raise from a caller, and a tick every interval. A signal, not a queue: however
/// many raises arrive while the loop is busy, it wakes once more, and that round sees the latest state.
/// </summary>
internal sealed class WakeSignal : IAsyncDisposable
{
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly PeriodicTimer _timer;
    private Task _ticker = Task.CompletedTask;

    public WakeSignal(TimeSpan interval, TimeProvider time) => _timer = new PeriodicTimer(interval, time);

    /// <summary>Wakes the loop soon (at once if it is waiting).</summary>
    public void Raise() => _wake.Writer.TryWrite(true);

    /// <summary>Raises now and then on every tick, until <paramref name="stop"/>.</summary>
    public void Start(CancellationToken stop)
    {
        Raise();
        _ticker = Task.Run(async () =>
        {
            try
            {
                while (await _timer.WaitForNextTickAsync(stop).ConfigureAwait(false))
                {
                    Raise();
                }
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
    }

    /// <summary>One item per wake-up, until <paramref name="stop"/> (which ends it with <see cref="OperationCanceledException"/>).</summary>
    public IAsyncEnumerable<bool> WakeUpsAsync(CancellationToken stop) => _wake.Reader.ReadAllAsync(stop);

    /// <summary>Stops the ticks; call after cancelling the token given to <see cref="Start"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        _timer.Dispose();
        await _ticker.ConfigureAwait(false);
    }
}
