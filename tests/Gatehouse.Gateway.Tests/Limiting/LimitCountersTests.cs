using Gatehouse.Gateway.Limiting;
using Gatehouse.Model.Config;
using static Gatehouse.Gateway.Tests.Limiting.LimitTestKit;

namespace Gatehouse.Gateway.Tests.Limiting;

/// <summary>Counter memory stays bounded: the sweep drops counters of windows that have passed.</summary>
public sealed class LimitCountersTests
{
    [Fact]
    public void Sweep_DropsPassedWindows_KeepsCurrentOnes()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 30));
        var set = kit.Set((10, LimitPeriod.Minute), (100, LimitPeriod.Day));
        kit.Limiter.Check("app-1", set);
        kit.Limiter.Check("app-2", set);
        Assert.Equal(4, kit.Counters.Count);

        kit.At(Utc(2025, 3, 10, 12, 1));
        var removed = kit.Counters.Sweep(kit.Time.GetUtcNow());

        Assert.Equal(2, removed);
        Assert.Equal(2, kit.Counters.Count);
        Assert.Equal(1, kit.Counters.Used("app-1", set.Policies[1], kit.Time.GetUtcNow()));
    }

    [Fact]
    public void Sweep_KeepsACounterMadeButNotCountedInYet_SoTheCountThatFollowsIsKept()
    {
        // A request (or the counts loaded at start) makes the counter, and counts into it a moment later; a sweep between
        // the two must not drop it, or that count lands in an object the dictionary no longer holds.
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 30));
        var set = kit.Set((100, LimitPeriod.Day));
        var made = kit.Counters.Get("app-1", set.Policies[0]);

        kit.Counters.Sweep(kit.Time.GetUtcNow());
        made.Add(Gatehouse.Gateway.Limiting.LimitWindows.Index(LimitPeriod.Day, kit.Time.GetUtcNow().UtcTicks), 2);

        Assert.Same(made, kit.Counters.Get("app-1", set.Policies[0]));
        Assert.Equal(2, kit.Counters.Used("app-1", set.Policies[0], kit.Time.GetUtcNow()));
    }

    [Fact]
    public void Sweep_ThenCheck_StartsAFreshWindow()
    {
        var kit = new LimitTestKit();
        var set = kit.Set((1, LimitPeriod.Second));
        kit.Limiter.Check("app-1", set);

        kit.Time.Advance(TimeSpan.FromSeconds(1));
        kit.Counters.Sweep(kit.Time.GetUtcNow());

        Assert.Equal(0, kit.Counters.Count);
        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
    }

    [Fact]
    public void Retire_OnlyACounterStillOnAPassedWindow_AndARetiredOneCountsNothing()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 30));
        var set = kit.Set((10, LimitPeriod.Minute));
        kit.Limiter.Check("app-1", set);
        var counter = kit.Counters.Get("app-1", set.Policies[0]);
        var minute = LimitWindows.Index(LimitPeriod.Minute, kit.Time.GetUtcNow().UtcTicks);

        // Rolled into the next minute first: the sweep's compare-and-swap fails and the counter stays, with its count.
        Assert.Equal(1, counter.TryAcquire(minute + 1, 10, out _));
        Assert.False(counter.TryRetire(minute + 1));
        Assert.Equal(1, counter.Count(minute + 1));

        Assert.True(counter.TryRetire(minute + 2));
        Assert.True(counter.IsRetired);
        Assert.Equal(LimitCounter.Retired, counter.TryAcquire(minute + 2, 10, out _));
        Assert.False(counter.Add(minute + 2, 3));
        Assert.Equal(0, counter.Count(minute + 2));
    }

    [Fact]
    public void CounterRetiredAfterTheRequestGotIt_TheRequestCountsInItsReplacement()
    {
        // The sweep's race: a request got the counter, the sweep retired it (and has not taken it out of the map yet),
        // then the request counts. Before the retirement, that count went into the dropped counter and was lost.
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 30));
        var set = kit.Set((2, LimitPeriod.Minute));
        var shadow = kit.Set("shadowed", (1, LimitPeriod.Minute, LimitMode.Shadow));
        kit.Limiter.Check("app-1", set);
        kit.Limiter.Check("app-1", shadow);
        kit.Limiter.Add("app-2", set, 1, kit.Time.GetUtcNow());
        kit.At(Utc(2025, 3, 10, 12, 1, 10));
        var current = LimitWindows.Index(LimitPeriod.Minute, kit.Time.GetUtcNow().UtcTicks);
        var retired = new[] { kit.Counters.Get("app-1", set.Policies[0]), kit.Counters.Get("app-1", shadow.Policies[0]), kit.Counters.Get("app-2", set.Policies[0]) };
        Assert.All(retired, counter => Assert.True(counter.TryRetire(current)));

        var first = kit.Limiter.Check("app-1", set);
        var second = kit.Limiter.Check("app-1", set);
        var third = kit.Limiter.Check("app-1", set);
        var shadowed = kit.Limiter.Check("app-1", shadow);
        kit.Limiter.Add("app-2", set, 5, kit.Time.GetUtcNow());

        Assert.True(first.Allowed);
        Assert.Equal(1, first.Remaining);
        Assert.True(second.Allowed);
        Assert.False(third.Allowed);
        Assert.True(shadowed.Allowed);
        Assert.Null(shadowed.WouldDeny);
        Assert.Equal(2, kit.Counters.Used("app-1", set.Policies[0], kit.Time.GetUtcNow()));
        Assert.Equal(1, kit.Counters.Used("app-1", shadow.Policies[0], kit.Time.GetUtcNow()));
        Assert.Equal(5, kit.Counters.Used("app-2", set.Policies[0], kit.Time.GetUtcNow()));
        Assert.DoesNotContain(kit.Counters.Get("app-1", set.Policies[0]), retired);
    }

    [Fact]
    public async Task SweepsRacingRequestsAtTheWindowsEdge_LoseNoCount()
    {
        // Each round: a counter on the last minute, then requests of the new minute on two threads while the sweep runs
        // beside them. Every admitted request must be in the count (the limit is never reached).
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 30));
        var set = kit.Set((1_000_000, LimitPeriod.Minute));
        var before = kit.Time.GetUtcNow();
        var after = before.AddMinutes(1);
        const int Rounds = 3_000;
        const int PerThread = 4;
        var lost = 0;
        for (var round = 0; round < Rounds; round++)
        {
            var app = "app-" + round;
            kit.Limiter.Check(app, set, before);
            using var start = new Barrier(3);
            var requests = Enumerable.Range(0, 2).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < PerThread; i++)
                {
                    Assert.True(kit.Limiter.Check(app, set, after).Allowed);
                }
            })).ToArray();
            var sweep = Task.Run(() =>
            {
                start.SignalAndWait();
                for (var i = 0; i < PerThread; i++)
                {
                    kit.Counters.Sweep(after);
                }
            });
            await Task.WhenAll([.. requests, sweep]);
            lost += 2 * PerThread - kit.Counters.Used(app, set.Policies[0], after);
            kit.Counters.Sweep(after.AddMinutes(1));
        }

        Assert.Equal(0, lost);
    }
}
