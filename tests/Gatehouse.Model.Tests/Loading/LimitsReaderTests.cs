using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Tests.Loading;

/// <summary>Binding and checking a list of limits (plans call <c>ReadLimits</c> for theirs).</summary>
public sealed class LimitsReaderTests
{
    private const string Path = "plans.retail.limits";

    [Fact]
    public void Limits_WrittenInFull_BindWithDefaults()
    {
        var (limits, errors) = LimitsReader.Read("""
            - { requests: 10, per: second }
            - { requests: 100, per: minute, mode: shadow }
            - requests: 5000
              per: month
            """, Path);

        Assert.Empty(errors);
        Assert.Equal(
            [
                new LimitConfig { Requests = 10, Per = LimitPeriod.Second },
                new LimitConfig { Requests = 100, Per = LimitPeriod.Minute, Mode = LimitMode.Shadow },
                new LimitConfig { Requests = 5000, Per = LimitPeriod.Month, Mode = LimitMode.Enforce },
            ],
            limits);
    }

    [Fact]
    public void Requests_Zero_IsAnErrorAtItsPath()
    {
        var (limits, errors) = LimitsReader.Read("- { requests: 0, per: minute }", Path);

        var error = Assert.Single(errors);
        Assert.Equal("plans.retail.limits[0].requests", error.Path);
        Assert.Equal("must be at least 1; found 0.", error.Message);
        Assert.Empty(limits);
    }

    [Fact]
    public void Per_Unknown_ListsTheKnownPeriods()
    {
        var (_, errors) = LimitsReader.Read("- { requests: 5, per: week }", Path);

        var error = Assert.Single(errors);
        Assert.Equal("plans.retail.limits[0].per", error.Path);
        Assert.Equal("'week' is not one of second, minute, hour, day, month.", error.Message);
    }

    [Fact]
    public void Mode_Unknown_IsAnError()
    {
        var (limits, errors) = LimitsReader.Read("- { requests: 5, per: day, mode: log }", Path);

        Assert.Equal("plans.retail.limits[0].mode", Assert.Single(errors).Path);
        Assert.Empty(limits);
    }

    [Fact]
    public void MissingKeys_AreAllReported()
    {
        var (_, errors) = LimitsReader.Read("- { mode: shadow }", Path);

        Assert.Equal(["plans.retail.limits[0].requests", "plans.retail.limits[0].per"], errors.Select(e => e.Path));
    }

    [Fact]
    public void UnknownKey_SuggestsTheKnownOne()
    {
        var (_, errors) = LimitsReader.Read("- { requests: 5, per: day, mod: shadow }", Path);

        var error = Assert.Single(errors);
        Assert.Equal("plans.retail.limits[0].mod", error.Path);
        Assert.Contains("did you mean 'mode'?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SamePeriodTwice_IsAnErrorOnTheSecond()
    {
        var (limits, errors) = LimitsReader.Read("""
            - { requests: 5, per: minute }
            - { requests: 10, per: hour }
            - { requests: 7, per: minute }
            """, Path);

        var error = Assert.Single(errors);
        Assert.Equal("plans.retail.limits[2].per", error.Path);
        Assert.Equal(2, limits.Count);
    }

    [Fact]
    public void SamePeriod_EnforcedAndShadow_IsAllowed()
    {
        var (limits, errors) = LimitsReader.Read("""
            - { requests: 100, per: minute }
            - { requests: 50, per: minute, mode: shadow }
            """, Path);

        Assert.Empty(errors);
        Assert.Equal(2, limits.Count);
    }

    [Fact]
    public void NotAList_IsAnError()
    {
        var (_, errors) = LimitsReader.Read("{ requests: 5, per: minute }", Path);

        var error = Assert.Single(errors);
        Assert.Equal(Path, error.Path);
        Assert.StartsWith("expected a list", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Requests_FromEnvironment_AreSubstituted()
    {
        var (limits, errors) = LimitsReader.Read("- { requests: '${RPM}', per: minute }", Path, name => name == "RPM" ? "42" : null);

        Assert.Empty(errors);
        Assert.Equal(42, Assert.Single(limits).Requests);
    }
}
