using Gatehouse.Model.Config;
using static Gatehouse.Gateway.Tests.Limiting.LimitTestKit;

namespace Gatehouse.Gateway.Tests.Limiting;

/// <summary>Quotas roll over exactly at UTC calendar boundaries, on the fake clock.</summary>
public sealed class QuotaRolloverTests
{
    public static TheoryData<LimitPeriod, DateTimeOffset, DateTimeOffset> Boundaries => new()
    {
        { LimitPeriod.Hour, Utc(2025, 6, 1, 13, 20), Utc(2025, 6, 1, 14, 0) },
        { LimitPeriod.Day, Utc(2025, 6, 1, 13, 20), Utc(2025, 6, 2) },
        { LimitPeriod.Day, Utc(2025, 12, 31, 23, 59, 59), Utc(2026, 1, 1) },
        { LimitPeriod.Month, Utc(2025, 1, 31, 22), Utc(2025, 2, 1) },
        { LimitPeriod.Month, Utc(2025, 2, 14), Utc(2025, 3, 1) },   // 28 days
        { LimitPeriod.Month, Utc(2028, 2, 14), Utc(2028, 3, 1) },   // 29 days: 2028 is a leap year
        { LimitPeriod.Month, Utc(2025, 4, 3), Utc(2025, 5, 1) },    // 30 days
        { LimitPeriod.Month, Utc(2025, 12, 9), Utc(2026, 1, 1) },   // into the next year
    };

    [Theory]
    [MemberData(nameof(Boundaries))]
    public void Quota_Used_RollsOverExactlyAtTheBoundary(LimitPeriod per, DateTimeOffset start, DateTimeOffset boundary)
    {
        var kit = new LimitTestKit();
        kit.At(start);
        var set = kit.Set((2, per));
        var expectedWait = (int)Math.Ceiling((boundary - start).TotalSeconds);

        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        var denied = kit.Limiter.Check("app-1", set);
        Assert.False(denied.Allowed);
        Assert.Equal(expectedWait, denied.RetryAfterSeconds);

        kit.At(boundary - TimeSpan.FromTicks(1));
        var last = kit.Limiter.Check("app-1", set);
        Assert.False(last.Allowed);
        Assert.Equal(1, last.RetryAfterSeconds);

        kit.At(boundary);
        var renewed = kit.Limiter.Check("app-1", set);
        Assert.True(renewed.Allowed);
        Assert.Equal(1, renewed.Remaining);
    }

    [Theory]
    [InlineData(2025, 1, 31)]
    [InlineData(2025, 2, 28)]
    [InlineData(2024, 2, 29)]
    [InlineData(2100, 2, 28)] // a century year that is not a leap year
    [InlineData(2000, 2, 29)] // one that is
    [InlineData(2025, 4, 30)]
    public void Month_ResetOnTheFirstDay_IsTheMonthsLength(int year, int month, int days)
    {
        var kit = new LimitTestKit();
        var set = kit.Set((1, LimitPeriod.Month));

        var decision = kit.Limiter.Check("app-1", set, Utc(year, month, 1));

        Assert.Equal(days * 86_400, decision.ResetSeconds);
    }

    [Fact]
    public void Month_DoesNotRollOnThe30thOfA31DayMonth()
    {
        var kit = new LimitTestKit();
        kit.At(Utc(2025, 1, 1));
        var set = kit.Set((1, LimitPeriod.Month));

        Assert.True(kit.Limiter.Check("app-1", set).Allowed);
        kit.At(Utc(2025, 1, 31, 23, 59, 59));
        Assert.False(kit.Limiter.Check("app-1", set).Allowed);
    }
}
