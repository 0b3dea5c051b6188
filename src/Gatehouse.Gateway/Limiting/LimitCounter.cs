using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// One application's count in one limit's current window. The window number and the count share one 64-bit
/// word (window in the high half, count in the low half), so rolling to a new window and counting a request are
/// one compare-and-swap: no lock, and no moment where a reset and an increment can interleave.
/// </summary>
internal class LimitCounter(LimitPeriod per)
{
    private long _state;

    /// <summary>The period this counter's windows are numbered in (for <see cref="LimitCounters.Sweep"/>).</summary>
    public LimitPeriod Per { get; } = per;

    /// <summary>The window of the last counted request.</summary>
    public uint Window => (uint)((ulong)Volatile.Read(ref _state) >> 32);

    /// <summary>
    /// Counts one request in <paramref name="window"/> unless that would pass <paramref name="limit"/>; returns the count
    /// including this request, or -1 (and counts nothing) when the window is full. A counter still on an older window
    /// starts the new one at zero. A caller whose clock read lags one that already rolled the counter forward counts
    /// in the newer window, never back, so a late caller cannot wipe a newer window's count.
    /// </summary>
    public long TryAcquire(uint window, int limit, out uint countedIn)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            var w = (uint)((ulong)state >> 32);
            var count = (uint)state;
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
    /// fact, which already happened); the count saturates instead of overflowing.
    /// </summary>
    public void Add(uint window, int n)
    {
        while (true)
        {
            var state = Volatile.Read(ref _state);
            var w = (uint)((ulong)state >> 32);
            var count = (uint)state;
            if (w < window)
            {
                w = window;
                count = 0;
            }

            var next = (long)(((ulong)w << 32) | (uint)Math.Min((ulong)count + (ulong)n, int.MaxValue));
            if (Interlocked.CompareExchange(ref _state, next, state) == state)
            {
                return;
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
