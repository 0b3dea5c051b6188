using Gatehouse.Model.Config;
using Gatehouse.Model.Limits;

namespace Gatehouse.Management.Tests.Stores;

// Quota counts kept across restarts (issue 24): written in batches, read back, never lowered, older windows forgotten.
public abstract partial class ConfigStoreTests
{
    [Fact]
    [Trait("Issue", "24")]
    public async Task QuotaCounts_WrittenThenRead_AreTheNewestWindowOfEachLimit()
    {
        Assert.Empty(await Store.ReadQuotaCountsAsync());
        await Store.WriteQuotaCountsAsync(
        [
            new QuotaCount("shop", "plan:retail/Day/Enforce", LimitPeriod.Day, 20_000, 5),
            new QuotaCount("shop", "plan:retail/Month/Enforce", LimitPeriod.Month, 672, 9),
            new QuotaCount("other", "plan:retail/Day/Enforce", LimitPeriod.Day, 20_000, 1),
        ]);
        // The next day's count replaces the day before; a lower count for a window never lowers it.
        await Store.WriteQuotaCountsAsync(
        [
            new QuotaCount("shop", "plan:retail/Day/Enforce", LimitPeriod.Day, 20_001, 2),
            new QuotaCount("shop", "plan:retail/Month/Enforce", LimitPeriod.Month, 672, 4),
        ]);

        // Another instance (a restarted node) reads what was written.
        var reopened = await OpenAsync();
        var counts = (await reopened.ReadQuotaCountsAsync()).OrderBy(c => c.Application).ThenBy(c => c.Limit).ToList();
        Assert.Equal(
        [
            new QuotaCount("other", "plan:retail/Day/Enforce", LimitPeriod.Day, 20_000, 1),
            new QuotaCount("shop", "plan:retail/Day/Enforce", LimitPeriod.Day, 20_001, 2),
            new QuotaCount("shop", "plan:retail/Month/Enforce", LimitPeriod.Month, 672, 9),
        ], counts);
    }
}
