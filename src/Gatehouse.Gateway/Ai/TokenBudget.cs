using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Limiting.Cluster;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// One application's budget under one token limit in its current window: tokens used (settled) and reserved (calls in
/// flight). Checked and changed under its own lock, which is held for a few additions: admission of concurrent calls is
/// exact, and calls of different applications never wait on each other.
/// </summary>
/// <remarks>
/// With <paramref name="engineKey"/> (a limit with <c>scope: cluster</c>) the budget is also a <see cref="IClusterTally"/>:
/// the cluster limiter's background round adds the tokens this node settled since its last round to the shared counter and
/// learns from the total what the other nodes have used (<c>others</c>), which admission counts too. On the request path
/// nothing waits for the engine.
/// </remarks>
internal sealed class TokenBudget(LimitPeriod per, string? engineKey = null) : IClusterTally
{
    private readonly Lock _lock = new();
    private uint _window;
    private long _used;
    private long _reserved;
    private long _pushed;
    private long _others;
    // Calls holding a reservation here, whatever window they reserved in (Roll does not reset it): a budget is swept only
    // when none does, so no call's usage is settled into a budget that is gone.
    private int _holders;
    private bool _retired;

    /// <summary>True for a budget of a <c>scope: cluster</c> limit, shared through the counter engine.</summary>
    public bool IsShared => engineKey is not null;

    public string EngineKey => engineKey ?? throw new InvalidOperationException("a node-scoped budget has no engine counter");

    public LimitPeriod Per => per;

    /// <summary>
    /// Reserves <paramref name="need"/> if it fits under <paramref name="limit"/>; else says the seconds until the window turns,
    /// or that the budget was swept (<see cref="TryRetire"/>) and the caller takes its successor.
    /// </summary>
    public Reservation TryReserve(long need, long limit, long nowTicks, out uint window, out int retryAfter)
    {
        window = LimitWindows.Index(per, nowTicks);
        retryAfter = 0;
        lock (_lock)
        {
            if (_retired)
            {
                return Reservation.Retired;
            }

            Roll(window);
            if (_others + _used + _reserved + need > limit)
            {
                retryAfter = LimitWindows.SecondsUntilEnd(per, window, nowTicks);
                return Reservation.Refused;
            }

            _reserved += need;
            _holders++;
            return Reservation.Made;
        }
    }

    /// <summary>
    /// Retires the budget if its window has passed and no call holds a reservation in it; a retired budget reserves nothing
    /// more, so its owner's next call takes a fresh one and the two never both admit.
    /// </summary>
    public bool TryRetire(long nowTicks)
    {
        lock (_lock)
        {
            if (!_retired && _holders == 0 && _window < LimitWindows.Index(per, nowTicks))
            {
                _retired = true;
            }

            return _retired;
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
            _holders--;
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

    public bool TakeDelta(long nowTicks, out uint window, out long delta)
    {
        window = LimitWindows.Index(per, nowTicks);
        lock (_lock)
        {
            Roll(window);
            delta = _used - _pushed;
            // Read (a delta of 0) while this node has used the budget in the window, to learn the others' use.
            return delta > 0 || _used > 0 || _reserved > 0;
        }
    }

    public void Answered(uint window, long added, long total)
    {
        lock (_lock)
        {
            if (window != _window)
            {
                return;
            }

            _pushed += added;
            _others = Math.Max(0, total - _pushed);
        }
    }

    private void Roll(uint window)
    {
        if (window != _window)
        {
            _window = window;
            _used = 0;
            _reserved = 0;
            _pushed = 0;
            _others = 0;
        }
    }
}

/// <summary>What <see cref="TokenBudget.TryReserve"/> did.</summary>
internal enum Reservation
{
    Made,
    Refused,
    /// <summary>The budget was swept; take the owner's budget afresh.</summary>
    Retired,
}
