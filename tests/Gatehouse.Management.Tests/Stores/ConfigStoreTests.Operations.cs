using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Tests.Stores;

// Settings, nodes and registrations: plain rows beside the revisions.
public abstract partial class ConfigStoreTests
{
    [Fact]
    public async Task Settings_SetTwice_KeepsTheLastValue()
    {
        Assert.Null(await Store.GetSettingAsync("admin_token_hash"));

        await Store.SetSettingAsync("admin_token_hash", "v1");
        await Store.SetSettingAsync("admin_token_hash", "v2");

        Assert.Equal("v2", await Store.GetSettingAsync("admin_token_hash"));
        Assert.Equal(0, await Store.CurrentRevisionAsync());
    }

    [Fact]
    public async Task Nodes_Upsert_RecordsLatestReportAndClockTime()
    {
        await Store.UpsertNodeAsync("node-b", 1, """{"v":"1"}""");
        Clock.Advance(TimeSpan.FromSeconds(30));
        await Store.UpsertNodeAsync("node-a", 2, "{}");
        await Store.UpsertNodeAsync("node-b", 3, """{"v":"2"}""");

        Assert.Equal(
            [new NodeInfo("node-a", 2, Clock.GetUtcNow(), "{}"), new NodeInfo("node-b", 3, Clock.GetUtcNow(), """{"v":"2"}""")],
            await Store.ListNodesAsync());
    }

    [Fact]
    public async Task Nodes_NotSeenSinceACutoff_AreRemoved_AndOnlyThose()
    {
        await Store.UpsertNodeAsync("gone", 1, "{}");
        Clock.Advance(TimeSpan.FromDays(8));
        var cutoff = Clock.GetUtcNow();
        await Store.UpsertNodeAsync("reporting", 2, "{}");
        Clock.Advance(TimeSpan.FromHours(1));

        Assert.Equal(0, await Store.DeleteNodesSeenBeforeAsync(cutoff - TimeSpan.FromDays(9)));
        Assert.Equal(1, await Store.DeleteNodesSeenBeforeAsync(cutoff));
        Assert.Equal(["reporting"], (await Store.ListNodesAsync()).Select(n => n.Id));
        Assert.Equal(0, await Store.DeleteNodesSeenBeforeAsync(cutoff)); // seen exactly at the cutoff: kept
    }

    [Fact]
    public async Task Registrations_WithTtl_ListOnlyLiveOnesAndExpireOnDemand()
    {
        var now = Clock.GetUtcNow();
        await Store.UpsertRegistrationAsync("users", "http://10.0.0.1:80", "agent-1", now.AddSeconds(30));
        await Store.UpsertRegistrationAsync("users", "http://10.0.0.2:80", "agent-2", now.AddSeconds(90));
        await Store.UpsertRegistrationAsync("orders", "http://10.0.0.3:80", "agent-3", now.AddSeconds(60));
        // Renewal moves the expiry.
        await Store.UpsertRegistrationAsync("users", "http://10.0.0.1:80", "agent-1", now.AddSeconds(120));

        Assert.Equal(
            [
                new Registration("orders", "http://10.0.0.3:80", "agent-3", now.AddSeconds(60)),
                new Registration("users", "http://10.0.0.1:80", "agent-1", now.AddSeconds(120)),
                new Registration("users", "http://10.0.0.2:80", "agent-2", now.AddSeconds(90)),
            ],
            await Store.ListRegistrationsAsync(now));
        Assert.Equal(["http://10.0.0.1:80"], (await Store.ListRegistrationsAsync(now.AddSeconds(100))).Select(r => r.Url));
        Assert.Equal(2, await Store.DeleteExpiredRegistrationsAsync(now.AddSeconds(90)));
        Assert.True(await Store.DeleteRegistrationAsync("users", "http://10.0.0.1:80"));
        Assert.False(await Store.DeleteRegistrationAsync("users", "http://10.0.0.1:80"));
        Assert.Empty(await Store.ListRegistrationsAsync(now));
    }

    [Fact]
    public async Task Registrations_ExpiryWithOffsetAndSubMillisecond_RoundTripsAsTheSameInstant()
    {
        var expires = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.FromHours(2)).AddTicks(1234);

        await Store.UpsertRegistrationAsync("users", "http://u", "me", expires);

        Assert.Equal(expires.UtcTicks / 10, (await Store.ListRegistrationsAsync(expires.AddTicks(-10)))[0].ExpiresAt.UtcTicks / 10);
    }
}
