using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Resilience;

/// <summary>
/// A service's retry budget (<see cref="RetryBudgetConfig"/>), shared by every route to it: retries in flight as a
/// share of requests in flight (with a floor), and retries over a window as a share of requests over it (plus a
/// steady rate). A retry is allowed only when both have room, so a failing service sees at most a fixed share more
/// load, never a multiple of it.
/// </summary>
/// <remarks>
/// Lock-free: the window is a ring of one-second buckets, each reset by the first thread to see a new second (a
/// request or retry counted into a bucket just as it is reset may be lost, which only ever errs by one). Requests are
/// counted only on routes that retry, so routes without retries pay nothing.
/// </remarks>
internal sealed class RetryBudget
{
    private readonly RetryBudgetConfig _config;
    private readonly TimeProvider _time;
    private readonly long[] _seconds;
    private readonly int[] _requests;
    private readonly int[] _retries;
    private int _active;

    public RetryBudget(RetryBudgetConfig config, TimeProvider time)
    {
        _config = config;
        _time = time;
        var buckets = (int)Math.Clamp(Math.Ceiling(config.Window.TotalSeconds), 1, 3600);
        _seconds = new long[buckets];
        Array.Fill(_seconds, -1);
        _requests = new int[buckets];
        _retries = new int[buckets];
    }

    /// <summary>Retries in flight now.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Counts one request (not a retry) of a route that may retry.</summary>
    public void CountRequest() => Interlocked.Increment(ref _requests[Bucket(CurrentSecond())]);

    /// <summary>Takes room for one retry, or returns false (and takes nothing) when the budget is spent.</summary>
    /// <param name="inFlight">The service's requests in flight now.</param>
    /// <param name="holding">
    /// The request already holds an in-flight retry (its previous one, now over): the new one takes its place, so
    /// only the rate is checked. A request holds at most one, released by <see cref="Release"/> when it ends.
    /// </param>
    public bool TryAcquire(int inFlight, bool holding = false)
    {
        var allowedActive = Math.Max(_config.MinActive, (long)inFlight * _config.ActivePercent / 100);
        if (!holding && Interlocked.Increment(ref _active) > allowedActive)
        {
            Interlocked.Decrement(ref _active);
            return false;
        }

        var second = CurrentSecond();
        long requests = 0, retries = 0;
        for (var i = 0; i < _seconds.Length; i++)
        {
            var s = Volatile.Read(ref _seconds[i]);
            if (s > second - _seconds.Length && s <= second)
            {
                requests += Volatile.Read(ref _requests[i]);
                retries += Volatile.Read(ref _retries[i]);
            }
        }

        var allowed = requests * _config.RatePercent / 100 + (long)_config.MinPerSecond * _seconds.Length;
        if (retries >= allowed)
        {
            if (!holding)
            {
                Interlocked.Decrement(ref _active);
            }

            return false;
        }

        Interlocked.Increment(ref _retries[Bucket(second)]);
        return true;
    }

    /// <summary>Gives back the in-flight retry a request held (see <see cref="TryAcquire"/>), when it made any.</summary>
    public void Release(bool held)
    {
        if (held)
        {
            Interlocked.Decrement(ref _active);
        }
    }

    private long CurrentSecond() => _time.GetTimestamp() / _time.TimestampFrequency;

    private int Bucket(long second)
    {
        var i = (int)(second % _seconds.Length);
        var seen = Volatile.Read(ref _seconds[i]);
        if (seen != second && Interlocked.CompareExchange(ref _seconds[i], second, seen) == seen)
        {
            Volatile.Write(ref _requests[i], 0);
            Volatile.Write(ref _retries[i], 0);
        }

        return i;
    }
}
