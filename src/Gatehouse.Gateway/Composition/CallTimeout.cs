using System.Collections.Concurrent;

namespace Gatehouse.Gateway.Composition;

/// <summary>
/// A step call's own timeout, for when it can fire before the run's deadline: a cancellation source that also
/// cancels when the run's token does, as a linked source would, but taken from a pool and returned to it when the call
/// is done (Kestrel and YARP keep theirs the same way), so that a call makes neither a source nor a timer.
/// A source is pooled again only when <see cref="CancellationTokenSource.TryReset"/> says it is as new: not
/// cancelled, and its timer never fired. Dispose it exactly once (a <c>using</c> local): it is a struct, and a copy
/// disposed again would pool its source twice.
/// </summary>
internal readonly struct CallTimeout : IDisposable
{
    private const int MaxPooled = 1024;
    private static readonly ConcurrentQueue<CancellationTokenSource> s_pool = new();
    private static int s_pooled;

    private readonly CancellationTokenSource? _source;
    private readonly CancellationTokenRegistration _link;

    private CallTimeout(CancellationTokenSource source, CancellationToken outer)
    {
        _source = source;
        // Registered after arming, so that an outer token already cancelled cancels this at once.
        _link = outer.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), source);
    }

    /// <summary>Whether this timeout cancelled (or the outer token, which cancels it too: tell them apart by that token).</summary>
    public bool IsCancellationRequested => _source is { IsCancellationRequested: true };

    /// <summary>A timeout of <paramref name="after"/> that <paramref name="outer"/> also cancels.</summary>
    public static CallTimeout Start(TimeSpan after, CancellationToken outer)
    {
        if (s_pool.TryDequeue(out var source))
        {
            Interlocked.Decrement(ref s_pooled);
        }
        else
        {
            source = new CancellationTokenSource();
        }

        source.CancelAfter(after);
        return new CallTimeout(source, outer);
    }

    /// <summary>The token a call observes: this timeout's, or <paramref name="outer"/> when there is none.</summary>
    public CancellationToken Token(CancellationToken outer) => _source?.Token ?? outer;

    public void Dispose()
    {
        if (_source is null)
        {
            return;
        }

        // Waits for a cancellation in progress to finish: after it the outer token no longer reaches the source.
        _link.Dispose();
        if (_source.TryReset())
        {
            if (Interlocked.Increment(ref s_pooled) <= MaxPooled)
            {
                s_pool.Enqueue(_source);
                return;
            }

            Interlocked.Decrement(ref s_pooled);
        }

        _source.Dispose();
    }
}
