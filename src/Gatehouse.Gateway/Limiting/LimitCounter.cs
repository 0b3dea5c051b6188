using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// One application's count in one limit's current window. The window number and the count share one 64-bit
/// word (window in the high half, count in the low half), so rolling to a new window and counting a request are
/// one compare-and-swap: no lock, and no moment where a reset and an increment can interleave.
/// </summary>
internal class LimitCounter(LimitPeriod per)
{
    /// <summary>
    /// What <see cref="TryAcquire"/> answers on a counter the sweep has retired: nothing was counted, and the caller
    /// counts again in the counter that replaces it (<see cref="LimitCounters.Renew"/>).
    /// </summary>
    public const long Retired = -2;

    // The window number of a retired counter: above every real one, so nothing rolls it forward again.
    private const uint RetiredWindow = uint.MaxValue;
    private const long RetiredState = unchecked((long)((ulong)RetiredWindow << 32));

    private long _state;

    /// <summary>The period this counter's windows are numbered in (for <see cref="LimitCounters.Sweep"/>).</summary>
    public LimitPeriod Per { get; } = per;

    /// <summary>The window of the last counted request.</summary>
    public uint Window => (uint)((ulong)Volatile.Read(ref _state) >> 32);

    /// <summary>True once the sweep has retired this counter: it counts nothing more.</summary>
    public bool IsRetired => Window == RetiredWindow;

    /// <summary>
    /// Retires the counter if its last count is in a window before <paramref name="current"/> (and it has counted at all):
    /// one compare-and-swap, so a request that rolls it into <paramref name="current"/> first keeps it, and one that comes
    /// after finds it retired and counts in its replacement. Without this, a request could count in a counter the sweep
    /// had just dropped, and that count was lost.
    /// </summary>
    public bool TryRetire(uint current)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            var w = (uint)((ulong)state >> 32);
            if (w == 0 || w >= current)
            {
                return w == RetiredWindow;
            }

            if (Interlocked.CompareExchange(ref _state, RetiredState, state) == state)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Counts one request in <paramref name="window"/> unless that would pass <paramref name="limit"/>; returns the count
    /// including this request, or -1 (and counts nothing) when the window is full. A counter still on an older window
    /// starts the new one at zero. A caller whose clock read lags one that already rolled the counter forward counts
    /// in the newer window, never back, so a late caller cannot wipe a newer window's count. <see cref="Retired"/> (and
    /// nothing counted) on a retired counter.
    /// </summary>
    public long TryAcquire(uint window, int limit, out uint countedIn)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            var w = (uint)((ulong)state >> 32);
            var count = (uint)state;
            if (w == RetiredWindow)
            {
                countedIn = window;
                return Retired;
            }

            if (w < window)
            {
                w = window;
                count = 0;
            }

            countedIn = w;
            if (count >= (uint)limit)
            {
                return -1;
            }

            var next = (long)(((ulong)w << 32) | (count + 1));
            if (Interlocked.CompareExchange(ref _state, next, state) == state)
            {
                return count + 1;
            }
        }
    }

    /// <summary>
    /// Counts <paramref name="n"/> requests in <paramref name="window"/> whatever the limit (usage reported after the
    /// fact, which already happened); the count saturates instead of overflowing. False (nothing counted) on a retired counter.
    /// </summary>
    public bool Add(uint window, int n)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            var w = (uint)((ulong)state >> 32);
            var count = (uint)state;
            if (w == RetiredWindow)
            {
                return false;
            }

            if (w < window)
            {
                w = window;
                count = 0;
            }

            var next = (long)(((ulong)w << 32) | (uint)Math.Min((ulong)count + (ulong)n, int.MaxValue));
            if (Interlocked.CompareExchange(ref _state, next, state) == state)
            {
                return true;
            }
        }
    }

    /// <summary>Takes back one request counted in <paramref name="window"/>; nothing when the counter has moved on to a later window.</summary>
    public void Release(uint window)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            var count = (uint)state;
            if ((uint)((ulong)state >> 32) != window || count == 0)
            {
                return;
            }

            if (Interlocked.CompareExchange(ref _state, state - 1, state) == state)
            {
                return;
            }
        }
    }

    /// <summary>Requests counted in <paramref name="window"/> (0 when the counter is still on an older one).</summary>
    public int Count(uint window)
    {
        var state = Volatile.Read(ref _state);
        var w = (uint)((ulong)state >> 32);
        return w < window ? 0 : (int)(uint)state;
    }
}
