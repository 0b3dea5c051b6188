using System.Collections.Concurrent;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Gatehouse.Management.Tests.Stores;

/// <summary>
/// Config commits on PostgreSQL are announced with NOTIFY (issue 21): only config commits, heard by a follower whose
/// polling is in effect off, and heard again after the server went away and came back.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Issue", "21")]
public sealed class RevisionNotifyTests(PostgresCluster cluster)
{
    private static readonly ResourceChange Service = new(ResourceKinds.Service, "s", """{"targets":["http://127.0.0.1:9"]}""");

    private static ResourceChange Route(string name) => new(ResourceKinds.Route, name, $$"""{"path":"/{{name}}","service":"s"}""");

    [Fact]
    public async Task OnlyConfigCommits_Notify_NodeSettingRegistrationAndQuotaWritesDoNot()
    {
        var connection = await cluster.CreateDatabaseAsync();
        await using var store = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        await using var listener = new NpgsqlConnection(connection);
        await listener.OpenAsync();
        var heard = new ConcurrentQueue<string>();
        listener.Notification += (_, e) => heard.Enqueue($"{e.Channel}:{e.Payload}");
        await using (var listen = new NpgsqlCommand("LISTEN gatehouse_revisions", listener))
        {
            await listen.ExecuteNonQueryAsync();
        }

        // Writes that happen all day: none may notify (NOTIFY takes a global lock at commit).
        await store.UpsertNodeAsync("n1", 0, "{}");
        await store.SetSettingAsync("k", "v");
        await store.UpsertRegistrationAsync("s", "http://127.0.0.1:9", "owner", DateTimeOffset.UtcNow.AddMinutes(1));
        await store.WriteQuotaCountsAsync([new Gatehouse.Model.Limits.QuotaCount("app", "daily", Gatehouse.Model.Config.LimitPeriod.Day, 1, 3)]);
        var commit = await store.CommitAsync([Service, Route("a")], 0, "test", "one");
        Assert.Equal(1, commit.Revision);
        var rollback = await store.RollbackAsync(0, 1, "test");
        Assert.Equal(2, rollback.Revision);

        // Notifications arrive in commit order: had any of the writes above notified, it would be first.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (heard.Count < 2)
        {
            await listener.WaitAsync(timeout.Token);
        }

        Assert.Equal(["gatehouse_revisions:1", "gatehouse_revisions:2"], heard.ToArray());
    }

    [Fact]
    public async Task Follower_WithPollingOff_ServesCommitsOfAnotherProcess_AlsoAfterTheServerRestarted()
    {
        var connection = await cluster.CreateDatabaseAsync();
        await using var writer = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        await using var reader = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        var applied = new ConcurrentQueue<int>();
        var health = new StoreHealth(NullLogger.Instance);
        // An hour between polls: within this test, only a notification (or the listener's catch-up on reconnect) wakes it.
        await using var follower = RevisionFollower.Create(
            reader, Directory.GetCurrentDirectory(), null, 0, config => { applied.Enqueue(config.Routes.Count); return []; }, null, health, NullLoggerFactory.Instance, TimeSpan.FromHours(1));
        Assert.True(follower.Notified);
        follower.Start();
        // The first look at start finds nothing (revision 0); give the listener time to LISTEN, bounded.
        await Wait.UntilAsync(async () => await ListenersAsync(connection) == 1, "the follower's LISTEN connection");

        await writer.CommitAsync([Service, Route("a")], 0, "test", "one");
        await Wait.UntilAsync(() => applied.Contains(1), "revision 1 (one route) served by the follower");

        await cluster.StopAsync();
        await cluster.StartAsync();
        // The writer's pooled connections died with the server: the first attempts may fail, as any client's would.
        await Wait.UntilAsync(async () =>
        {
            try
            {
                return (await writer.CommitAsync([Route("b")], 1, "test", "two")).Revision == 2;
            }
            catch (NpgsqlException)
            {
                return false;
            }
        }, TimeSpan.FromSeconds(30), "the writer to commit once the server is back");
        await Wait.UntilAsync(() => applied.Contains(2), TimeSpan.FromSeconds(60), "revision 2 (two routes) served after the server restarted");
    }

    private static async Task<long> ListenersAsync(string connection)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gatehouse-listen' AND datname = current_database() AND query LIKE 'LISTEN%'", c);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
