namespace Gatehouse.Gateway.Runtime;

/// <summary>
/// At most one look at some files per interval, taken by whichever caller comes first when the interval has passed; the
/// others go on at once with what was read before. Used by what a new connection reads from files that may be renewed
/// (a listener's certificate, its clients' CA): the files are looked at only when connections come, never on a timer.
/// </summary>
internal sealed class LookGate(TimeProvider time, TimeSpan interval)
{
    private readonly long _ticks = (long)(interval.TotalSeconds * time.TimestampFrequency);
    private long _next = time.GetTimestamp() + (long)(interval.TotalSeconds * time.TimestampFrequency);
    private int _looking;

    public TimeSpan Interval => interval;

    /// <summary>Runs <paramref name="look"/> when the interval has passed and no other caller is running it.</summary>
    public void LookIfDue(Action look)
    {
        if (time.GetTimestamp() < Volatile.Read(ref _next) || Interlocked.Exchange(ref _looking, 1) != 0)
        {
            return;
        }

        try
        {
            look();
        }
        finally
        {
            Volatile.Write(ref _next, time.GetTimestamp() + _ticks);
            Volatile.Write(ref _looking, 0);
        }
    }
}
