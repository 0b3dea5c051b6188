using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Limiting.Cluster;

/// <summary>
/// One application's count under one <c>scope: cluster</c> limit on this node. The inherited count is what this node
/// admitted in the window; beside it, each packed with its window in one 64-bit word (as <see cref="LimitCounter"/>
/// does) so a reader never pairs a number with the wrong window:
/// <list type="bullet">
/// <item><b>pushed</b>: the units the engine holds from this node in the window: leases granted (strict) plus counts
/// added (fast, and what a strict node admitted while the engine was down);</item>
/// <item><b>others</b>: the engine's total minus this node's pushed units, as of the last answer: what the other nodes
/// have used.</item>
/// </list>
/// Written only by engine answers (the background loop, or a lease), read on the request path without a lock.
/// </summary>
internal sealed class ClusterCounter(LimitPeriod per, string engineKey, LimitSync sync) : LimitCounter(per)
{
    private readonly Lock _gate = new();
    private long _pushed;
    private long _others;
    // The window whose lease came back short, packed with the limit it was asked under: a reload that raises the limit
    // makes the window worth asking again (the engine grants up to the limit each request names).
    private long _exhausted = -1;
    private Task? _fetch;
    private uint _fetchWindow;

    /// <summary>The counter's name at the engine: the limit's stable name and the application.</summary>
    public string EngineKey { get; } = engineKey;

    public LimitSync Sync { get; } = sync;

    /// <summary>Units the engine holds from this node in <paramref name="window"/>.</summary>
    public int Pushed(uint window) => Unpack(Volatile.Read(ref _pushed), window);

    /// <summary>Units the other nodes had used in <paramref name="window"/> at the engine's last answer.</summary>
    public int Others(uint window) => Unpack(Volatile.Read(ref _others), window);

    /// <summary>
    /// True when a lease of <paramref name="window"/> came back short under a limit of <paramref name="limit"/> or more: the
    /// engine has nothing left in it. Under a higher limit (a reload raised it) the window is worth asking again.
    /// </summary>
    public bool IsExhausted(uint window, int limit)
    {
        var state = Volatile.Read(ref _exhausted);
        return (uint)((ulong)state >> 32) == window && limit <= (int)(uint)state;
    }

    /// <summary>
    /// Records an engine answer: <paramref name="added"/> more units held from this node, and the engine's <paramref name="total"/>
    /// after it; <paramref name="exhaustedUnder"/> is the limit a lease that came back short was asked under.
    /// </summary>
    public void Answered(uint window, int added, long total, int? exhaustedUnder = null)
    {
        lock (_gate)
        {
            var pushed = (int)Math.Min((long)Pushed(window) + added, int.MaxValue);
            Volatile.Write(ref _pushed, Pack(window, pushed));
            Volatile.Write(ref _others, Pack(window, (int)Math.Clamp(total - pushed, 0, int.MaxValue)));
            if (exhaustedUnder is { } limit)
            {
                Volatile.Write(ref _exhausted, Pack(window, limit));
            }
        }
    }

    /// <summary>True while a lease request of <paramref name="window"/> is in flight (read without the lock: a hint that saves starting one).</summary>
    public bool IsFetching(uint window) => Volatile.Read(ref _fetch) is { IsCompleted: false } && Volatile.Read(ref _fetchWindow) == window;

    /// <summary>The lease request of <paramref name="window"/> in flight, or a new one from <paramref name="start"/>: one at a time per counter.</summary>
    public Task Lease(uint window, Func<Task> start)
    {
        lock (_gate)
        {
            if (_fetch is { IsCompleted: false } fetch && _fetchWindow == window)
            {
                return fetch;
            }

            // A lease that arrived after the caller found none left (another request's, or one fetched ahead): decide
            // again on it rather than ask for one more, which would hold units past the stated under-use bound.
            if (Pushed(window) > Count(window))
            {
                return Task.CompletedTask;
            }

            _fetchWindow = window;
            return _fetch = start();
        }
    }

    /// <summary>
    /// When no lease request is in flight and at most <paramref name="left"/> units of what is held are unused, starts one
    /// from <paramref name="start"/> for what tops them back up to <paramref name="lease"/>. Checked under the lock that
    /// engine answers take, so a request that saw the old lease never asks again after the new one has arrived.
    /// </summary>
    public void LeaseAhead(uint window, int left, int lease, Func<int, Task> start)
    {
        lock (_gate)
        {
            var unused = Pushed(window) - Count(window);
            if ((_fetch is { IsCompleted: false } && _fetchWindow == window) || unused > left || unused >= lease)
            {
                return;
            }

            _fetchWindow = window;
            _fetch = start(lease - Math.Max(0, unused));
        }
    }

    private static long Pack(uint window, int units) => (long)(((ulong)window << 32) | (uint)units);

    private static int Unpack(long state, uint window) => (uint)((ulong)state >> 32) == window ? (int)(uint)state : 0;
}
