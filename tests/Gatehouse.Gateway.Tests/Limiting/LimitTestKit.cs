using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Tests.TestSupport;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Tests.Limiting;

/// <summary>A limiter on a fake clock, and sets of limits written the way config writes them.</summary>
internal sealed class LimitTestKit
{
    public FakeTimeProvider Time { get; } = new();

    public LimitCounters Counters { get; } = new();

    public Limiter Limiter { get; }

    public LimitTestKit() => Limiter = new Limiter(Counters, Time);

    /// <summary>A set of limits for plan <paramref name="plan"/>.</summary>
    public LimitSet Set(string plan, params (int Requests, LimitPeriod Per, LimitMode Mode)[] limits) =>
        new(limits.Select(l => LimitPolicy.Compile($"plan:{plan}", new LimitConfig { Requests = l.Requests, Per = l.Per, Mode = l.Mode }, Counters)));

    public LimitSet Set(params (int Requests, LimitPeriod Per)[] limits) =>
        Set("retail", limits.Select(l => (l.Requests, l.Per, LimitMode.Enforce)).ToArray());

    /// <summary>Moves the fake clock to <paramref name="utc"/>, which must not be in its past.</summary>
    public void At(DateTimeOffset utc) => Time.Advance(utc - Time.GetUtcNow());

    public static DateTimeOffset Utc(int year, int month, int day, int hour = 0, int minute = 0, int second = 0, int ms = 0) =>
        new(year, month, day, hour, minute, second, ms, TimeSpan.Zero);
}
