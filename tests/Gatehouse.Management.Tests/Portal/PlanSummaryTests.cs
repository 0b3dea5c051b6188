using Gatehouse.Management.Portal;
using Gatehouse.Model.Config;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>How the portal's pages write a plan's limits: request limits (shadow ones left out) and token limits.</summary>
[Trait("Issue", "18")]
public sealed class PlanSummaryTests
{
    [Fact]
    public void Limits_AreWrittenAsTheyApply_ShadowLimitsLeftOut_TokenLimitsWithWhatTheyCountAndWhichModel()
    {
        Assert.Equal("60 per minute, 1,000 per day", PlanSummary.Describe(
        [
            new LimitConfig { Requests = 60, Per = LimitPeriod.Minute },
            new LimitConfig { Requests = 5, Per = LimitPeriod.Second, Mode = LimitMode.Shadow },
            new LimitConfig { Requests = 1000, Per = LimitPeriod.Day },
        ]));

        var plan = new PlanConfig
        {
            TokenLimits =
            [
                new TokenLimitConfig { Tokens = 100_000, Per = LimitPeriod.Day },
                new TokenLimitConfig { Tokens = 5_000, Per = LimitPeriod.Minute, Count = TokenCount.Completion, Model = "smart" },
            ],
        };
        Assert.Equal(["100,000 tokens (total) per day, every model", "5,000 tokens (completion) per minute, model smart"], PlanSummary.DescribeTokens(plan));
        Assert.Equal(["spend 1,250.5 per month, every model", "spend 0.25 per day, model smart"],
            PlanSummary.DescribeTokens(new PlanConfig { SpendLimits = [new() { Amount = 1250.5, Per = LimitPeriod.Month }, new() { Amount = 0.25, Per = LimitPeriod.Day, Model = "smart" }] }));
    }
}
