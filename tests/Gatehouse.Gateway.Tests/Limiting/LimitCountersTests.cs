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
}
