using Gatehouse.Gateway.LoadBalancing;
using Gatehouse.Gateway.Upstreams;
using static Gatehouse.Gateway.Tests.LoadBalancing.Destinations;

namespace Gatehouse.Gateway.Tests.LoadBalancing;

/// <summary><c>loadBalancing: hash</c>: weighted rendezvous hashing of a request's key.</summary>
public sealed class HashPolicyTests
{
    private const long Now = 1;
    private const int Keys = 30_000;

    private static ulong Key(int i) => System.IO.Hashing.XxHash3.HashToUInt64(BitConverter.GetBytes(i));

    private static Destination[] Placement(Destination[] set) => [.. Enumerable.Range(0, Keys).Select(i => HashPolicy.Pick(set, Now, Key(i))!)];

    [Fact]
    public void TheSameKey_GoesToTheSameDestination_AndKeysSpreadEvenly()
    {
        var set = Count(3);
        var first = Placement(set);
        Assert.Equal(first, Placement(set));
        foreach (var d in set)
        {
            // A third each, within 2 points (30,000 keys: the spread of a fair draw is about 0.3 points).
            var share = first.Count(p => ReferenceEquals(p, d)) / (double)Keys;
            Assert.InRange(share, 0.313, 0.353);
        }
    }

    [Fact]
    public void Weights_GiveProportionalShares()
    {
        var set = WithWeights(3, 1);
        var placed = Placement(set);
        var share = placed.Count(p => ReferenceEquals(p, set[0])) / (double)Keys;
        Assert.InRange(share, 0.73, 0.77);
    }

    [Fact]
    public void ADestinationThatGoesAway_MovesOnlyItsOwnKeys_AndTheyComeBackWithIt()
    {
        var set = Count(4);
        var before = Placement(set);
        set[2].ActiveHealthy = false;
        var during = Placement(set);
        for (var i = 0; i < Keys; i++)
        {
            if (ReferenceEquals(before[i], set[2]))
            {
                Assert.NotSame(set[2], during[i]);
            }
            else
            {
                Assert.Same(before[i], during[i]);
            }
        }

        // Its keys spread over the other three, not onto one of them.
        var moved = Enumerable.Range(0, Keys).Where(i => ReferenceEquals(before[i], set[2])).Select(i => during[i]).ToArray();
        Assert.All(new[] { set[0], set[1], set[3] }, d => Assert.InRange(moved.Count(m => ReferenceEquals(m, d)) / (double)moved.Length, 0.28, 0.39));

        set[2].ActiveHealthy = true;
        Assert.Equal(before, Placement(set));
    }

    [Fact]
    public void ANewDestination_TakesItsShareFromEveryOther_AndNothingElseMoves()
    {
        var three = Count(3);
        var four = three.Append(new Destination(new Uri("http://10.0.0.4:8080"), "10.0.0.4")).ToArray();
        var before = Placement(three);
        var after = Placement(four);
        var moved = 0;
        for (var i = 0; i < Keys; i++)
        {
            if (!ReferenceEquals(before[i], after[i]))
            {
                Assert.Same(four[3], after[i]);
                moved++;
            }
        }

        Assert.InRange(moved / (double)Keys, 0.23, 0.27);
    }

    [Fact]
    public void EveryNode_PlacesKeysAlike_BecauseTheSeedsComeFromTheAddresses()
    {
        // Two nodes (or one node before and after a reload) build their own destination objects.
        Assert.Equal(Placement(Count(5)).Select(d => d.Address), Placement(Count(5)).Select(d => d.Address));
        Assert.NotEqual(Count(1)[0].HashSeed, WithWeights(1, 1)[1].HashSeed);
    }

    [Fact]
    public void NothingAvailable_IsNull_AndAKeylessPickIsRoundRobin()
    {
        var set = Count(3);
        foreach (var d in set)
        {
            d.Eject(until: 100);
        }

        Assert.Null(HashPolicy.Pick(set, Now, Key(1)));
        Assert.Null(HashPolicy.Pick(WithWeights(2, 1).Select(d => { d.ActiveHealthy = false; return d; }).ToArray(), Now, Key(1)));

        var fresh = Count(3);
        var policy = new HashPolicy();
        Assert.Equal([100, 100, 100], Tally(() => policy.Pick(fresh, Now), fresh, 300));
    }
}
