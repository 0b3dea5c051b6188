using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Tests.Loading;

/// <summary>The keys of limits counted across nodes (issue 21): defaults, and the errors at their paths.</summary>
[Trait("Issue", "21")]
public sealed class ClusterLimitRulesTests
{
    private const string Path = "plans.retail.limits";

    [Fact]
    public void ClusterKeys_Written_Bind_AndTheLeaseDefaultsToTwoPercent()
    {
        var (limits, errors) = LimitsReader.Read("""
            - { requests: 1000, per: day }
            - { requests: 100, per: second, scope: cluster, sync: fast, onEngineDown: deny }
            - { requests: 60, per: minute, scope: cluster, lease: 6, onEngineDown: allow }
            - { requests: 5, per: hour, scope: node }
            """, Path);

        Assert.Empty(errors);
        Assert.Null(limits[0].Scope);
        Assert.Equal((LimitSync.Strict, 20, EngineDownAction.Share), (limits[0].Sync, limits[0].EffectiveLease, limits[0].OnEngineDown));
        Assert.Equal((LimitScope.Cluster, LimitSync.Fast, EngineDownAction.Deny), (limits[1].Scope!.Value, limits[1].Sync, limits[1].OnEngineDown));
        Assert.Equal((6, EngineDownAction.Allow), (limits[2].EffectiveLease, limits[2].OnEngineDown));
        Assert.Equal(1, limits[3].EffectiveLease);
    }

    [Fact]
    public void Lease_LargerThanTheLimit_IsAnErrorAtItsPath()
    {
        var (limits, errors) = LimitsReader.Read("- { requests: 10, per: second, lease: 11 }", Path);

        var error = Assert.Single(errors);
        Assert.Equal("plans.retail.limits[0].lease", error.Path);
        Assert.Contains("make it at most 10", error.Message, StringComparison.Ordinal);
        Assert.Empty(limits);
    }

    [Theory]
    [InlineData("{ requests: 10, per: second, scope: node, sync: fast }", "sync", "'scope: cluster' only")]
    [InlineData("{ requests: 10, per: second, scope: node, onEngineDown: deny }", "onEngineDown", "'scope: cluster' only")]
    [InlineData("{ requests: 10, per: second, mode: shadow, lease: 2 }", "lease", "a shadow limit counts on each node")]
    [InlineData("{ requests: 10, per: second, mode: shadow, scope: cluster }", "scope", "a shadow limit counts on each node")]
    public void ClusterKeys_OnALimitCountedPerNode_AreErrorsAtTheirPaths(string limit, string key, string says)
    {
        var (limits, errors) = LimitsReader.Read("- " + limit, Path);

        var error = Assert.Single(errors);
        Assert.Equal($"plans.retail.limits[0].{key}", error.Path);
        Assert.Contains(says, error.Message, StringComparison.Ordinal);
        Assert.Empty(limits);
    }

    [Fact]
    public void Sync_Unknown_ListsTheModes()
    {
        var (_, errors) = LimitsReader.Read("- { requests: 10, per: second, sync: eventual }", Path);

        var error = Assert.Single(errors);
        Assert.Equal("plans.retail.limits[0].sync", error.Path);
        Assert.Equal("'eventual' is not one of strict, fast.", error.Message);
    }
}
