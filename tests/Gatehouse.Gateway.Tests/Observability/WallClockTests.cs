using Gatehouse.Gateway.Observability;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>Issue 19: a request's records take their wall-clock time from the monotonic reading of their duration.</summary>
[Trait("Issue", "19")]
public sealed class WallClockTests
{
    [Fact]
    public void WithinASecond_TheTimeComesFromTheMonotonicReading_WithOneWallClockRead()
    {
        var time = new CountingTime();
        var clock = new WallClock(time);
        var first = time.GetTimestamp();
        Assert.Equal(time.GetUtcNow().UtcTicks, clock.UtcTicksAt(first));
        var expected = new List<long>();
        var readings = new List<long>();
        for (var i = 0; i < 3; i++)
        {
            time.Advance(TimeSpan.FromMilliseconds(300) + TimeSpan.FromTicks(7));
            readings.Add(time.GetTimestamp());
            expected.Add(time.GetUtcNow().UtcTicks);
        }

        time.WallReads = 0;
        Assert.Equal(expected, readings.Select(clock.UtcTicksAt));
        Assert.Equal(0, time.WallReads);

        // A reading older than the anchor (a request that ended just before another thread moved it) still gets its own time.
        Assert.Equal(expected[0] - TimeSpan.FromMilliseconds(300).Ticks - 7, clock.UtcTicksAt(first));
        Assert.Equal(0, time.WallReads);
    }

    [Fact]
    public void PastASecond_TheWallClockIsReadAgain()
    {
        var time = new CountingTime();
        var clock = new WallClock(time);
        clock.UtcTicksAt(time.GetTimestamp());
        time.Advance(TimeSpan.FromSeconds(1.5));
        var now = time.GetTimestamp();
        var utc = time.GetUtcNow().UtcTicks;
        time.WallReads = 0;
        Assert.Equal(utc, clock.UtcTicksAt(now));
        Assert.Equal(1, time.WallReads);
    }

    private sealed class CountingTime() : Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 12, 5, 23, 0, 0, TimeSpan.Zero))
    {
        public int WallReads { get; set; }

        public override DateTimeOffset GetUtcNow()
        {
            WallReads++;
            return base.GetUtcNow();
        }
    }
}
