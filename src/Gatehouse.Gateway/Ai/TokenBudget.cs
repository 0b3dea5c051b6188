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
/// With <paramref name="engineKey"/> (a limit with <c>scope: cluster</c>) the budget is also a <see cref="IClusterTally"/>,
/// in one of two ways (<paramref name="sync"/>):
/// <list type="bullet">
/// <item><c>fast</c>: the cluster limiter's background round adds the tokens this node settled since its last round to the
/// shared counter and learns from the total what the other nodes have used (<c>others</c>), which admission counts too. On
/// the request path nothing waits for the engine.</item>
/// <item><c>strict</c>: a call is admitted only from tokens this node holds at the engine (<c>pushed</c>: leases granted,
/// plus what calls used over their estimate, which the round adds). When what is held does not cover a call's estimate,
/// the call waits for one lease (<see cref="Reservation.NeedsLease"/>); the engine grants leases atomically and never past
/// the limit, so the nodes together never admit more than it.</item>
/// </list>
/// </remarks>
/// <param name="quota">For a budget counted on this node alone, per hour or longer: its application and limit as kept
/// across restarts (<see cref="Limiting.QuotaPersistence"/>).</param>
/// <param name="seed">The window and the tokens used in it that a restarted node found kept.</param>
internal sealed class TokenBudget(LimitPeriod per, string? engineKey = null, LimitSync sync = LimitSync.Fast, (string Application, string Limit)? quota = null, (uint Window, long Used)? seed = null)
    : IClusterTally
{
    private readonly Lock _lock = new();
    private uint _window = seed?.Window ?? 0;
    private long _used = seed?.Used ?? 0;
    private long _reserved;
    private long _pushed;
    private long _others;
    // Calls holding a reservation here, whatever window they reserved in (Roll does not reset it): a budget is swept only
    // when none does, so no call's usage is settled into a budget that is gone.
    private int _holders;
    private bool _retired;
    // Strict: the window whose last lease came back short (the engine has nothing left in it) and the limit it was asked
    // under (a reload that raises the limit makes the window worth asking again), and the lease in flight.
    private long _exhausted = -1;
    private long _exhaustedUnder;
    private Task? _lease;
    private uint _leaseWindow;
    // Strict: the tokens that the calls waiting for a lease need, together; the next lease asks for what of it is not held.
    private long _waiting;

    /// <summary>True for a budget of a <c>scope: cluster</c> limit, shared through the counter engine.</summary>
    public bool IsShared => engineKey is not null;

    /// <summary>True for a shared budget with <c>sync: strict</c>: admitted only from leases.</summary>
    public bool IsStrict => engineKey is not null && sync == LimitSync.Strict;

    public string EngineKey => engineKey ?? throw new InvalidOperationException("a node-scoped budget has no engine counter");

    public LimitPeriod Per => per;

    /// <summary>The application and limit this budget's use is kept under across restarts; null when it is not kept.</summary>
    public (string Application, string Limit)? Quota => quota;

    /// <summary>The window of <paramref name="nowTicks"/> and the tokens settled in it (what is kept across restarts).</summary>
    public (uint Window, long Used) Settled(long nowTicks)
    {
        var window = LimitWindows.Index(per, nowTicks);
        lock (_lock)
        {
            Roll(window);
            return (window, _used);
        }
    }

    /// <summary>
    /// Reserves <paramref name="need"/> if it fits under <paramref name="limit"/> (for a strict budget: under what this node
    /// holds, or under <paramref name="fallbackCap"/> while the engine is down); else says the seconds until the window turns,
    /// that a lease is needed first (strict: <paramref name="shortBy"/> tokens more than this node holds), or that the budget
    /// was swept (<see cref="TryRetire"/>) and the caller takes its successor.
    /// </summary>
    /// <param name="fallbackCap">Strict, engine down: what this node may admit in the window by its <c>onEngineDown</c>; null while the engine answers.</param>
    public Reservation TryReserve(long need, long limit, long nowTicks, out uint window, out int retryAfter, out long shortBy, long? fallbackCap = null)
    {
        window = LimitWindows.Index(per, nowTicks);
        retryAfter = 0;
        shortBy = 0;
        lock (_lock)
        {
            if (_retired)
            {
                return Reservation.Retired;
            }

            Roll(window);
            long room;
            if (!IsStrict)
            {
                room = limit - _others - _used - _reserved;
            }
            else if (fallbackCap is { } cap)
            {
                room = Math.Max(cap, _pushed) - _used - _reserved;
            }
            else
            {
                room = _pushed - _used - _reserved;
                if (need > room && !IsExhausted(window, limit))
                {
                    shortBy = need - Math.Max(0, room);
                    return Reservation.NeedsLease;
                }
            }

            if (need > room)
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
    /// Strict: the lease of <paramref name="window"/> in flight, or a new one from <paramref name="start"/> for what the calls
    /// now waiting (<see cref="Wait"/>) need together beyond the tokens held unused, and at least <paramref name="leaseSize"/>:
    /// a burst of calls on one node needs one lease after the one already in flight, not one each. One lease at a time per
    /// budget, shared by the calls waiting for it. Completes at once, asking nothing, when what is held already covers every
    /// waiting call (a lease landed between a call's try and its wait): the call tries again.
    /// </summary>
    /// <remarks>
    /// The tokens held unused are subtracted because calls woken by the lease that just landed may still be counted as
    /// waiting: they have not reserved yet, and what they will reserve is in the unused tokens. Asking for them again left
    /// that many tokens unused on this node while other nodes were refused (a CI run of a burst on three nodes: 9 calls
    /// admitted where 10 fit).
    /// </remarks>
    public Task Lease(uint window, long leaseSize, Func<long, Task> start)
    {
        lock (_lock)
        {
            if (_lease is { IsCompleted: false } pending && _leaseWindow == window)
            {
                return pending;
            }

            var lacking = _waiting - Math.Max(0, _pushed - _used - _reserved);
            if (lacking <= 0 && _waiting > 0)
            {
                return Task.CompletedTask;
            }

            _leaseWindow = window;
            return _lease = start(Math.Max(leaseSize, lacking));
        }
    }

    /// <summary>Strict: a call needing <paramref name="need"/> tokens begins (positive) or ends (negative) its wait for a lease.</summary>
    public void Wait(long need)
    {
        lock (_lock)
        {
            _waiting = Math.Max(0, _waiting + need);
        }
    }

    /// <summary>
    /// Strict: how many tokens to lease ahead, in the background, so that under steady use no call waits for the engine:
    /// what tops the unused tokens held back up to <paramref name="lease"/> once a quarter of it is left (leases of 4 or
    /// more); 0 when nothing is to be asked (enough held, a lease in flight, or the engine has nothing left).
    /// </summary>
    public long TopUp(uint window, long lease, long limit)
    {
        lock (_lock)
        {
            var unused = _pushed - _used - _reserved;
            if (lease < 4 || window != _window || IsExhausted(window, limit) || unused > lease / 4 || (_lease is { IsCompleted: false } && _leaseWindow == window))
            {
                return 0;
            }

            return lease - Math.Max(0, unused);
        }
    }

    /// <summary>Strict: the engine granted <paramref name="granted"/> of <paramref name="wanted"/> tokens for <paramref name="window"/> under a limit of <paramref name="limit"/>.</summary>
    public void Leased(uint window, long wanted, long granted, long limit)
    {
        lock (_lock)
        {
            if (window != _window)
            {
                return; // the window turned meanwhile: those tokens belonged to the one that passed
            }

            _pushed += granted;
            if (granted < wanted)
            {
                _exhausted = window;
                _exhaustedUnder = limit;
            }
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
            // Strict: only what calls used beyond the leases (over their estimate, or while the engine was down) is added.
            // Fast: read (a delta of 0) while this node has used the budget in the window, to learn the others' use.
            return delta > 0 || (!IsStrict && (_used > 0 || _reserved > 0));
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

    private bool IsExhausted(uint window, long limit) => _exhausted == window && limit <= _exhaustedUnder;

    private void Roll(uint window)
    {
        if (window != _window)
        {
            _window = window;
            _used = 0;
            _reserved = 0;
            _pushed = 0;
            _others = 0;
            _exhausted = -1;
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
    /// <summary>Strict: this node does not hold enough tokens; lease more (<see cref="TokenBudget.Lease"/>), then try again.</summary>
    NeedsLease,
}
