using Gatehouse.Gateway.LoadBalancing;
using static Gatehouse.Gateway.Tests.LoadBalancing.Destinations;

namespace Gatehouse.Gateway.Tests.LoadBalancing;

public sealed class RoundRobinPolicyTests
{
    private const long Now = 1;

    [Fact]
    public void Pick_EqualWeights_TakesEachInTurn()
    {
        var set = Count(3);
        var policy = new RoundRobinPolicy();

        var picks = Enumerable.Range(0, 6).Select(_ => policy.Pick(set, Now)).ToArray();

        Assert.Equal([set[0], set[1], set[2], set[0], set[1], set[2]], picks);
    }

    [Fact]
    public void Pick_Weights123_DistributesExactlyInProportion()
    {
        var set = WithWeights(1, 2, 3);
        var policy = new RoundRobinPolicy();

        var counts = Tally(() => policy.Pick(set, Now), set, 600);

        Assert.Equal([100, 200, 300], counts);
    }

    [Fact]
    public void BuildOrder_Weights221_InterleavesInsteadOfRuns()
    {
        var set = WithWeights(2, 2, 1);

        var order = RoundRobinPolicy.BuildOrder(set);

        Assert.Equal(5, order.Length);
        for (var i = 1; i < order.Length; i++)
        {
            Assert.NotSame(order[i - 1], order[i]);
        }
    }

    [Fact]
    public void BuildOrder_CommonFactor_ShortensTheCycle()
    {
        var order = RoundRobinPolicy.BuildOrder(WithWeights(200, 400));

        Assert.Equal(3, order.Length);
    }

    [Fact]
    public void BuildOrder_HugeCoprimeWeights_IsCappedAndKeepsEveryDestination()
    {
        var set = WithWeights(100_003, 1);

        var order = RoundRobinPolicy.BuildOrder(set);

        Assert.True(order.Length <= RoundRobinPolicy.MaxScheduleLength, $"schedule has {order.Length} slots");
        Assert.Equal(1, order.Count(d => d == set[1]));
        Assert.Equal(order.Length - 1, order.Count(d => d == set[0]));
    }

    [Fact]
    public void Pick_UnavailableDestination_NeverPickedAndOthersKeepTheirRatio()
    {
        var set = WithWeights(1, 1, 2);
        set[0].ActiveHealthy = false;
        var policy = new RoundRobinPolicy();

        var counts = Tally(() => policy.Pick(set, Now), set, 300);

        Assert.Equal([0, 100, 200], counts);
    }

    [Fact]
    public void Pick_EjectedUntilLater_SkippedUntilThen()
    {
        var set = Count(2);
        set[0].Eject(until: 100);
        var policy = new RoundRobinPolicy();

        Assert.All(Enumerable.Range(0, 10), _ => Assert.Same(set[1], policy.Pick(set, now: 99)));
        Assert.Contains(set[0], Enumerable.Range(0, 10).Select(_ => policy.Pick(set, now: 100)));
    }

    [Fact]
    public void Pick_NoneAvailable_ReturnsNull()
    {
        var set = WithWeights(1, 5);
        foreach (var d in set)
        {
            d.ActiveHealthy = false;
        }

        Assert.Null(new RoundRobinPolicy().Pick(set, Now));
    }

    [Fact]
    public void Pick_NoDestinations_ReturnsNull()
    {
        Assert.Null(new RoundRobinPolicy().Pick([], Now));
    }

    [Fact]
    public void Pick_DestinationsReplaced_PicksFromTheNewSetOnly()
    {
        var policy = new RoundRobinPolicy();
        var before = Count(2);
        policy.Pick(before, Now);
        var after = WithWeights(1, 3);

        var counts = Tally(() => policy.Pick(after, Now), after, 40);

        Assert.Equal([10, 30], counts);
    }

    [Fact]
    public async Task Pick_ConcurrentCallers_DistributesInProportion()
    {
        var set = WithWeights(1, 3);
        var policy = new RoundRobinPolicy();
        var counts = new int[2];

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < 10_000; i++)
            {
                Interlocked.Increment(ref counts[Array.IndexOf(set, policy.Pick(set, Now))]);
            }
        })));

        // One shared counter hands out slots, so even racing callers get exact shares.
        Assert.Equal([10_000, 30_000], counts);
    }
}
