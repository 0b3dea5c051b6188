using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Tests.Limiting;

/// <summary>
/// The race bound (docs/limits.md): every admitted request holds a unit of each enforced counter, and a counter
/// never passes its limit, so at most N requests are admitted per window however many callers race. (The looser
/// bound the design allowed, N + one per concurrent caller, therefore holds too.)
/// </summary>
public sealed class LimiterConcurrencyTests
{
    private const int Callers = 8;
    private const int CallsEach = 2_000;

    [Fact]
    public async Task ParallelChecks_OneLimit_AdmitExactlyN()
    {
        var kit = new LimitTestKit();
        var set = kit.Set((5_000, LimitPeriod.Minute));

        var admitted = await Race(kit, set);

        // One limit has no take-backs, so nothing is denied early either: exactly N get through.
        Assert.Equal(5_000, admitted);
        Assert.Equal(5_000, kit.Counters.Used("app-1", set.Policies[0], kit.Time.GetUtcNow()));
    }

    [Fact]
    public async Task ParallelChecks_TwoLimits_NeverAdmitMoreThanTheTighter_AndDeniedOnesConsumeNothing()
    {
        var kit = new LimitTestKit();
        var set = kit.Set((9_000, LimitPeriod.Minute), (3_000, LimitPeriod.Day));

        var admitted = await Race(kit, set);

        Assert.InRange(admitted, 1, 3_000);
        Assert.True(admitted <= 3_000 + Callers);
        var now = kit.Time.GetUtcNow();

        // Every take-back landed: each counter holds exactly the admitted requests.
        Assert.Equal(admitted, kit.Counters.Used("app-1", set.Policies[0], now));
        Assert.Equal(admitted, kit.Counters.Used("app-1", set.Policies[1], now));
    }

    private static async Task<int> Race(LimitTestKit kit, Gatehouse.Gateway.Limiting.LimitSet set)
    {
        var admitted = 0;
        using var start = new Barrier(Callers);
        var callers = Enumerable.Range(0, Callers).Select(_ => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (var i = 0; i < CallsEach; i++)
            {
                if (kit.Limiter.Check("app-1", set).Allowed)
                {
                    Interlocked.Increment(ref admitted);
                }
            }
        }, TaskCreationOptions.LongRunning));

        await Task.WhenAll(callers);
        return admitted;
    }
}
