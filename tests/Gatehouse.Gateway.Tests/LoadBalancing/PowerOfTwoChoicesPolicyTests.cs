using Gatehouse.Gateway.LoadBalancing;
using static Gatehouse.Gateway.Tests.LoadBalancing.Destinations;

namespace Gatehouse.Gateway.Tests.LoadBalancing;

public sealed class PowerOfTwoChoicesPolicyTests
{
    private const long Now = 1;

    [Fact]
    public void Pick_SomeUnavailable_NeverPicksThemAndUsesEveryAvailableOne()
    {
        var set = Count(10);
        for (var i = 0; i < 7; i++)
        {
            // Both ways out: active health down, or passively ejected until later.
            if (i % 2 == 0)
            {
                set[i].ActiveHealthy = false;
            }
            else
            {
                set[i].Eject(until: 100);
            }
        }

        var policy = new PowerOfTwoChoicesPolicy();

        var counts = Tally(() => policy.Pick(set, Now), set, 10_000);

        Assert.All(counts.Take(7), c => Assert.Equal(0, c));
        Assert.All(counts.Skip(7), c => Assert.True(c > 0));
    }

    [Fact]
    public void Pick_TwoDestinations_AlwaysPicksTheLessLoaded()
    {
        var set = Count(2);
        Load(set[0], 3);
        Load(set[1], 1);
        var policy = new PowerOfTwoChoicesPolicy();

        Assert.All(Enumerable.Range(0, 100), _ => Assert.Same(set[1], policy.Pick(set, Now)));
    }

    [Fact]
    public void Pick_ThreeDestinations_TheSingleBusyOneNeverWins()
    {
        // Two distinct candidates: the busy one is always compared with an idle one and loses.
        var set = Count(3);
        Load(set[1], 5);
        var policy = new PowerOfTwoChoicesPolicy();

        var counts = Tally(() => policy.Pick(set, Now), set, 2_000);

        Assert.Equal(0, counts[1]);
        Assert.True(counts[0] > 0 && counts[2] > 0, $"picks: {string.Join(", ", counts)}");
    }

    [Fact]
    public void Pick_BusyOneAmongUnavailable_StillNeverPicksUnavailable()
    {
        var set = Count(4);
        set[0].ActiveHealthy = false;
        set[1].ActiveHealthy = false;
        Load(set[2], 4);
        var policy = new PowerOfTwoChoicesPolicy();

        Assert.All(Enumerable.Range(0, 500), _ => Assert.Same(set[3], policy.Pick(set, Now)));
    }

    [Fact]
    public void Pick_OneAvailable_PicksIt()
    {
        var set = Count(5);
        foreach (var d in set.Take(4))
        {
            d.ActiveHealthy = false;
        }

        var policy = new PowerOfTwoChoicesPolicy();

        Assert.All(Enumerable.Range(0, 100), _ => Assert.Same(set[4], policy.Pick(set, Now)));
    }

    [Fact]
    public void Pick_NoneAvailable_ReturnsNull()
    {
        var set = Count(3);
        foreach (var d in set)
        {
            d.ActiveHealthy = false;
        }

        Assert.Null(new PowerOfTwoChoicesPolicy().Pick(set, Now));
        Assert.Null(new PowerOfTwoChoicesPolicy().Pick([set[0]], Now));
        Assert.Null(new PowerOfTwoChoicesPolicy().Pick([], Now));
    }
}
