using Gatehouse.Model.Config;
using static Gatehouse.Gateway.Tests.Limiting.LimitTestKit;

namespace Gatehouse.Gateway.Tests.Limiting;

/// <summary>Counting and deciding: exact limits, windows, denials that consume nothing, several limits, shadow mode.</summary>
public sealed class LimiterTests
{
    [Fact]
    public void Limit_NRequests_AreAllowed_AndTheNextIsDenied()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 18));
        var set = kit.Set((3, LimitPeriod.Minute));

        for (var i = 1; i <= 3; i++)
        {
            var allowed = kit.Limiter.Check("app-1", set);
            Assert.True(allowed.Allowed);
            Assert.Equal(3 - i, allowed.Remaining);
            Assert.Equal(42, allowed.ResetSeconds);
            Assert.Equal(0, allowed.RetryAfterSeconds);
        }

        var denied = kit.Limiter.Check("app-1", set);
        Assert.False(denied.Allowed);
        Assert.Equal(0, denied.Remaining);
        Assert.Equal(42, denied.RetryAfterSeconds);
        Assert.Same(set.Policies[0], denied.Policy);
    }

    [Fact]
    public void Denied_RequestsConsumeNothing()
    {
        var kit = new LimitTestKit();
        var set = kit.Set((2, LimitPeriod.Minute), (5, LimitPeriod.Day));

        for (var i = 0; i < 10; i++)
        {
            kit.Limiter.Check("app-1", set);
        }

        Assert.Equal(2, kit.Counters.Used("app-1", set.Policies[0], kit.Time.GetUtcNow()));
        Assert.Equal(2, kit.Counters.Used("app-1", set.Policies[1], kit.Time.GetUtcNow()));

        // The day still has 3 requests: the 8 denied ones did not spend them.
        kit.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        Assert.Equal(4, kit.Counters.Used("app-1", set.Policies[1], kit.Time.GetUtcNow()));
    }

    [Fact]
    public void DeniedByALaterLimit_TakesBackTheEarlierLimitsUnits()
    {
        var kit = new LimitTestKit();
        var set = kit.Set((10, LimitPeriod.Minute), (1, LimitPeriod.Hour));

        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        var denied = kit.Limiter.Check("app-1", set);

        Assert.False(denied.Allowed);
        Assert.Same(set.Policies[1], denied.Policy);
        Assert.Equal(1, kit.Counters.Used("app-1", set.Policies[0], kit.Time.GetUtcNow()));
    }

    [Fact]
    public void PerSecond_RollsOverOnTheNextWholeSecond()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 5, 250));
        var set = kit.Set((2, LimitPeriod.Second));

        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        var denied = kit.Limiter.Check("app-1", set);
        Assert.False(denied.Allowed);
        Assert.Equal(1, denied.RetryAfterSeconds);

        kit.Time.Advance(TimeSpan.FromMilliseconds(749));
        Assert.False(kit.Limiter.Check("app-1", set).Allowed);

        kit.Time.Advance(TimeSpan.FromMilliseconds(1));
        var next = kit.Limiter.Check("app-1", set);
        Assert.True(next.Allowed);
        Assert.Equal(1, next.Remaining);
    }

    [Fact]
    public void PerMinute_IsAlignedToTheClockMinute()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 59, 900));
        var set = kit.Set((1, LimitPeriod.Minute));

        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        var denied = kit.Limiter.Check("app-1", set);
        Assert.Equal(1, denied.RetryAfterSeconds);

        kit.At(Utc(2025, 3, 10, 12, 1, 0));
        var allowed = kit.Limiter.Check("app-1", set);
        Assert.True(allowed.Allowed);
        Assert.Equal(60, allowed.ResetSeconds);
    }

    [Fact]
    public void Applications_AreCountedApart()
    {
        var kit = new LimitTestKit();
        var set = kit.Set((1, LimitPeriod.Minute));

        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        Assert.True(kit.Limiter.Check("app-2", set).Allowed);
        Assert.False(kit.Limiter.Check("app-1", set).Allowed);
    }

    [Fact]
    public void SeveralLimits_TheOneWithFewestLeftIsReported()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 30));
        var set = kit.Set((10, LimitPeriod.Second), (5, LimitPeriod.Minute), (1000, LimitPeriod.Day));

        var first = kit.Limiter.Check("app-1", set);

        Assert.Same(set.Policies[1], first.Policy);
        Assert.Equal(4, first.Remaining);
        Assert.Equal(30, first.ResetSeconds);
    }

    [Fact]
    public void SeveralLimits_AllFull_RetryAfterWaitsForTheLastToRoll()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 3, 10, 12, 0, 30));
        var set = kit.Set((1, LimitPeriod.Second), (1, LimitPeriod.Minute));

        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        var denied = kit.Limiter.Check("app-1", set);

        Assert.False(denied.Allowed);
        Assert.Same(set.Policies[1], denied.Policy);
        Assert.Equal(30, denied.RetryAfterSeconds);
    }

    [Fact]
    public void Shadow_OverTheLimit_LetsThroughReportsAndCounts()
    {
        var kit = new LimitTestKit();
        var set = kit.Set("retail", (100, LimitPeriod.Minute, LimitMode.Enforce), (2, LimitPeriod.Minute, LimitMode.Shadow));
        var shadow = set.Policies[1];

        var decisions = Enumerable.Range(0, 5).Select(_ => kit.Limiter.Check("app-1", set)).ToList();

        Assert.All(decisions, d => Assert.True(d.Allowed));
        Assert.Equal([null, null, shadow, shadow, shadow], decisions.Select(d => d.WouldDeny));
        Assert.Equal(3, shadow.ShadowDenials);
        Assert.Equal(2, kit.Counters.Used("app-1", shadow, kit.Time.GetUtcNow()));
        Assert.Equal(5, kit.Counters.Used("app-1", set.Policies[0], kit.Time.GetUtcNow()));

        // Headers only report what is enforced.
        Assert.All(decisions, d => Assert.Same(set.Policies[0], d.Policy));
        Assert.Equal("\"minute\";q=100;w=60", set.PolicyHeader);
    }

    [Fact]
    public void Shadow_Only_AllowsEverythingAndAdvertisesNothing()
    {
        var kit = new LimitTestKit();
        var set = kit.Set("retail", (1, LimitPeriod.Day, LimitMode.Shadow));

        kit.Limiter.Check("app-1", set);
        var second = kit.Limiter.Check("app-1", set);

        Assert.True(second.Allowed);
        Assert.Same(set.Policies[0], second.WouldDeny);
        Assert.Null(second.Policy);
        Assert.Null(set.PolicyHeader);
    }

    [Fact]
    public void Shadow_NotCounted_WhenAnEnforcedLimitDenies()
    {
        var kit = new LimitTestKit();
        var set = kit.Set("retail", (1, LimitPeriod.Minute, LimitMode.Enforce), (10, LimitPeriod.Minute, LimitMode.Shadow));

        kit.Limiter.Check("app-1", set);
        Assert.False(kit.Limiter.Check("app-1", set).Allowed);

        Assert.Equal(1, kit.Counters.Used("app-1", set.Policies[1], kit.Time.GetUtcNow()));
    }

    [Fact]
    public void EmptySet_AllowsWithoutHeaders()
    {
        var kit = new LimitTestKit();

        var decision = kit.Limiter.Check("app-1", Gatehouse.Gateway.Limiting.LimitSet.Empty);

        Assert.True(decision.Allowed);
        Assert.Null(decision.Policy);
        Assert.Equal(0, kit.Counters.Count);
    }

    [Fact]
    public void Recompiled_SameKeyAndPeriod_KeepsCounting()
    {
        // A config reload compiles new policies; a monthly quota must not start over because of it.
        var kit = new LimitTestKit();
        var before = kit.Set((3, LimitPeriod.Month));
        kit.Limiter.Check("app-1", before);
        kit.Limiter.Check("app-1", before);

        var raised = kit.Set((5, LimitPeriod.Month));
        var other = kit.Set((5, LimitPeriod.Day));

        Assert.Equal(before.Policies[0].Slot, raised.Policies[0].Slot);
        Assert.NotEqual(before.Policies[0].Slot, other.Policies[0].Slot);
        Assert.Equal(2, kit.Limiter.Check("app-1", raised).Remaining);
        Assert.Equal(4, kit.Limiter.Check("app-1", other).Remaining);
    }
}
