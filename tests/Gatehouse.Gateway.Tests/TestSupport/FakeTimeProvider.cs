namespace Gatehouse.Gateway.Tests.TestSupport;

/// <summary>
/// The manual clock of Microsoft.Extensions.TimeProvider.Testing (timers fire while a test calls <c>Advance</c>),
/// started at 2025-01-01 as the tests expect, and counting the timers that are armed, which tests use to wait until a
/// loop has scheduled its next step. Only the count is ours: the package has no way to see its timers.
/// </summary>
internal sealed class FakeTimeProvider() : Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2025, 1, 1, 0, 0, 0, TimeSpan.Zero))
{
    private int _armed;

    /// <summary>Timers that are scheduled to fire.</summary>
    public int ActiveTimers => Volatile.Read(ref _armed);

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var counted = new CountedTimer(this);
        counted.Inner = base.CreateTimer(counted.Fired(callback), state, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        counted.Change(dueTime, period);
        return counted;
    }

    private sealed class CountedTimer(FakeTimeProvider owner) : ITimer
    {
        private readonly Lock _lock = new();
        private bool _armed;
        private bool _periodic;

        public ITimer Inner { get; set; } = null!;

        public TimerCallback Fired(TimerCallback callback) => state =>
        {
            lock (_lock)
            {
                if (!_periodic)
                {
                    Arm(false);
                }
            }

            callback(state);
        };

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (_lock)
            {
                _periodic = period != Timeout.InfiniteTimeSpan && period != TimeSpan.Zero;
                Arm(dueTime != Timeout.InfiniteTimeSpan);
            }

            return Inner.Change(dueTime, period);
        }

        public void Dispose()
        {
            lock (_lock)
            {
                Arm(false);
            }

            Inner.Dispose();
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }

        // Called under _lock.
        private void Arm(bool armed)
        {
            if (armed != _armed)
            {
                _armed = armed;
                Interlocked.Add(ref owner._armed, armed ? 1 : -1);
            }
        }
    }
}
