namespace Gatehouse.Gateway.Observability;

/// <summary>
/// The wall-clock time of a monotonic reading (<see cref="TimeProvider.GetTimestamp"/>), from that reading and a wall-clock
/// reading at most a second old: a request's records get their time from the reading their duration was taken from, one
/// clock read fewer a request than asking for the time again (each is 30-40 ns on a VM; docs/benchmarks.md, issue 19).
/// </summary>
/// <remarks>A step of the system's clock is followed within a second; records are kept to the minute. Safe from any thread.</remarks>
internal sealed class WallClock(TimeProvider time)
{
    private Anchor? _anchor;

    /// <summary>The UTC time, in ticks, at which <paramref name="timestamp"/> was read.</summary>
    public long UtcTicksAt(long timestamp)
    {
        if (Volatile.Read(ref _anchor) is { } anchor)
        {
            var since = time.GetElapsedTime(anchor.Timestamp, timestamp).Ticks;
            if (since is > -TimeSpan.TicksPerSecond and < TimeSpan.TicksPerSecond)
            {
                return anchor.UtcTicks + since;
            }
        }

        var utc = time.GetUtcNow().UtcTicks;
        Volatile.Write(ref _anchor, new Anchor(timestamp, utc));
        return utc;
    }

    private sealed record Anchor(long Timestamp, long UtcTicks);
}
