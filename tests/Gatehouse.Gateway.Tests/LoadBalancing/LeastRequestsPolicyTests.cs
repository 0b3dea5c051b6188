using Gatehouse.Gateway.LoadBalancing;
using static Gatehouse.Gateway.Tests.LoadBalancing.Destinations;

namespace Gatehouse.Gateway.Tests.LoadBalancing;

public sealed class LeastRequestsPolicyTests
{
    private const long Now = 1;

    [Fact]
    public void Pick_OneIdleAmongBusy_PicksTheIdleOne()
    {
        var set = Count(3);
        Load(set[0], 2);
        Load(set[2], 1);
        var policy = new LeastRequestsPolicy();

        Assert.All(Enumerable.Range(0, 10), _ => Assert.Same(set[1], policy.Pick(set, Now)));
    }

    [Fact]
    public void Pick_NoneIdle_PicksTheLeastLoaded()
    {
        var set = Count(3);
        Load(set[0], 5);
        Load(set[1], 2);
        Load(set[2], 7);

        Assert.Same(set[1], new LeastRequestsPolicy().Pick(set, Now));
    }

    [Fact]
    public void Pick_IdleOneUnavailable_PicksTheLeastLoadedAvailable()
    {
        var set = Count(3);
        set[0].ActiveHealthy = false;
        Load(set[1], 3);
        Load(set[2], 1);

        Assert.Same(set[2], new LeastRequestsPolicy().Pick(set, Now));
    }

    [Fact]
    public void Pick_AllIdle_SpreadsTheTies()
    {
        var set = Count(3);
        var policy = new LeastRequestsPolicy();

        var counts = Tally(() => policy.Pick(set, Now), set, 30);

        Assert.Equal([10, 10, 10], counts);
    }

    [Fact]
    public void Pick_FollowsLoadAsItChanges()
    {
        var set = Count(2);
        var policy = new LeastRequestsPolicy();

        // Like a forwarder that never finishes: each pick adds load, so picks alternate.
        for (var i = 0; i < 10; i++)
        {
            policy.Pick(set, Now)!.BeginRequest();
        }

        Assert.Equal(5, set[0].Outstanding);
        Assert.Equal(5, set[1].Outstanding);
    }

    [Fact]
    public void Pick_NoneAvailable_ReturnsNull()
    {
        var set = Count(2);
        set[0].ActiveHealthy = false;
        set[1].Eject(until: 10);

        Assert.Null(new LeastRequestsPolicy().Pick(set, Now));
    }

    [Fact]
    public void Pick_NoDestinations_ReturnsNull()
    {
        Assert.Null(new LeastRequestsPolicy().Pick([], Now));
    }
}
