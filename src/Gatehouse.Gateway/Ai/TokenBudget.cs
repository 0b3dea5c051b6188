using Gatehouse.Gateway.Limiting;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// One application's budget under one token limit in its current window: tokens used (settled) and reserved (calls in
/// flight). Checked and changed under its own lock, which is held for a few additions: admission of concurrent calls is
/// exact, and calls of different applications never wait on each other.
/// </summary>
internal sealed class TokenBudget(LimitPeriod per)
{
    private readonly Lock _lock = new();
    private uint _window;
    private long _used;
    private long _reserved;

    /// <summary>Reserves <paramref name="need"/> if it fits under <paramref name="limit"/>; else the seconds until the window turns.</summary>
    public bool TryReserve(long need, long limit, long nowTicks, out uint window, out int retryAfter)
    {
        window = LimitWindows.Index(per, nowTicks);
        lock (_lock)
        {
            Roll(window);
            if (_used + _reserved + need > limit)
            {
                retryAfter = LimitWindows.SecondsUntilEnd(per, window, nowTicks);
                return false;
            }

            _reserved += need;
            retryAfter = 0;
            return true;
        }
    }

    /// <summary>Replaces a reservation made in <paramref name="window"/> with what the call used.</summary>
    public void Settle(long reserved, long actual, uint window, long nowTicks)
    {
        var current = LimitWindows.Index(per, nowTicks);
        lock (_lock)
        {
            Roll(current);
            if (window == current)
            {
                _reserved -= reserved;
            }

            // A reservation of a window that has passed went with it; the call counts where it ended.
            _used += actual;
        }
    }

    /// <summary>Used and reserved in the current window (for tests and reports).</summary>
    public (long Used, long Reserved) Read(long nowTicks)
    {
        lock (_lock)
        {
            Roll(LimitWindows.Index(per, nowTicks));
            return (_used, _reserved);
        }
    }

    private void Roll(uint window)
    {
        if (window != _window)
        {
            _window = window;
            _used = 0;
            _reserved = 0;
        }
    }
}
