using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Management.Nodes;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Admin;
using Gatehouse.Management.Tests.Support;

namespace Gatehouse.Management.Tests.Nodes;

/// <summary>Issue #5: nodes report the revision they serve and a heartbeat; GET /admin/nodes lists them, stale ones marked.</summary>
public sealed class NodeTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task ListNodes_OneNotSeenForThreeIntervals_IsStale_TheOtherIsNot()
    {
        await using var admin = await AdminHarness.StartAsync();
        await admin.Store.UpsertNodeAsync("gw-a", 1, """{"pid":1}""");
        admin.Time.Advance(TimeSpan.FromSeconds(20));
        await admin.Store.UpsertNodeAsync("gw-b", 2, """{"pid":2}""");
        admin.Time.Advance(TimeSpan.FromSeconds(26)); // gw-a: 46 s > 3 × 15 s; gw-b: 26 s

        using var response = await admin.Client.GetAsync("/admin/nodes");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var items = (await AdminHarness.ReadObjectAsync(response))["items"]!.AsArray();
        Assert.Equal(["gw-a", "gw-b"], items.Select(i => (string)i!["id"]!));
        Assert.True((bool)items[0]!["stale"]!);
        Assert.False((bool)items[1]!["stale"]!);
        Assert.Equal(1, (long)items[0]!["revision"]!);
        Assert.Equal(2, (long)items[1]!["revision"]!);
        Assert.Equal(2, (int)items[1]!["info"]!["pid"]!);
        Assert.Equal(admin.Time.GetUtcNow() - TimeSpan.FromSeconds(26), (DateTimeOffset)items[1]!["lastSeen"]!);
    }

    [Fact]
    public async Task DeleteNode_StaleIsForgotten_LiveIs409_UnknownIs404()
    {
        await using var admin = await AdminHarness.StartAsync();
        await admin.Store.UpsertNodeAsync("gw-old", 1, "{}");
        admin.Time.Advance(TimeSpan.FromSeconds(46));
        await admin.Store.UpsertNodeAsync("gw-live", 1, "{}");

        using (var live = await admin.Client.DeleteAsync("/admin/nodes/gw-live"))
        {
            Assert.Equal(HttpStatusCode.Conflict, live.StatusCode);
            Assert.Equal("application/problem+json", live.Content.Headers.ContentType?.MediaType);
        }

        using (var stale = await admin.Client.DeleteAsync("/admin/nodes/gw-old"))
        {
            Assert.Equal(HttpStatusCode.OK, stale.StatusCode);
        }

        using (var again = await admin.Client.DeleteAsync("/admin/nodes/gw-old"))
        {
            Assert.Equal(HttpStatusCode.NotFound, again.StatusCode);
        }

        Assert.Equal(["gw-live"], (await admin.Store.ListNodesAsync()).Select(n => n.Id));
    }

    [Fact]
    public async Task Node_EachRevisionAppliedThroughTheAdminApi_IsReported()
    {
        // An hour between heartbeats: every report seen here was caused by an apply.
        await using var admin = await AdminHarness.StartAsync(node: store => new NodeReporter(store, "gw-test", 0, TimeSpan.FromHours(1)));
        admin.Node!.Start();
        await EventuallyAsync(admin.Store, nodes => nodes.Count == 1 && nodes[0].Revision == 0);

        await admin.PutOkAsync("/admin/services/users", """{"targets":["http://127.0.0.1:9"]}""");
        await EventuallyAsync(admin.Store, nodes => nodes.Single().Revision == 1);
        await admin.PutOkAsync("/admin/services/users", """{"targets":["http://127.0.0.1:10"]}""");
        await EventuallyAsync(admin.Store, nodes => nodes.Single().Revision == 2);

        using var response = await admin.Client.GetAsync("/admin/nodes");
        var list = await AdminHarness.ReadObjectAsync(response);
        Assert.Equal(2, (long)list["revision"]!);
        var item = list["items"]!.AsArray().Single()!;
        Assert.Equal("gw-test", (string)item["id"]!);
        Assert.Equal(2, (long)item["revision"]!);
        Assert.False((bool)item["stale"]!);
        Assert.Equal(Environment.ProcessId, (int)item["info"]!["pid"]!);
    }

    [Fact]
    public async Task Node_WithoutApplies_HeartbeatRefreshesLastSeen()
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-nodes-");
        try
        {
            var time = new FakeTime();
            await using var store = await ConfigStores.OpenAsync(Path.Combine(directory.FullName, "gatehouse.db"), time);
            await using (var node = new NodeReporter(store, "gw-beat", 7, TimeSpan.FromMilliseconds(50)))
            {
                node.Start();
                var first = time.GetUtcNow();
                await EventuallyAsync(store, nodes => nodes.Count == 1 && nodes[0].LastSeen == first);

                // Only the timer writes now; the store's clock tells its beats apart from the first report.
                time.Advance(TimeSpan.FromMinutes(1));
                await EventuallyAsync(store, nodes => nodes[0].LastSeen == first + TimeSpan.FromMinutes(1) && nodes[0].Revision == 7);
            }
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Node_AnOlderRevision_IsNotReportedOverANewerOne()
    {
        var directory = Directory.CreateTempSubdirectory("gatehouse-nodes-");
        try
        {
            await using var store = await ConfigStores.OpenAsync(Path.Combine(directory.FullName, "gatehouse.db"), new FakeTime());
            await using var node = new NodeReporter(store, "gw-order", 5, TimeSpan.FromHours(1));
            node.Applied(4);
            Assert.Equal(5, node.Revision);
            node.Applied(6);
            Assert.Equal(6, node.Revision);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            directory.Delete(recursive: true);
        }
    }

    // The reporter writes on its own loop; wait (bounded) for the store to show what it should.
    private static async Task EventuallyAsync(IConfigStore store, Func<IReadOnlyList<NodeInfo>, bool> condition)
    {
        using var timeout = new CancellationTokenSource(Wait);
        while (true)
        {
            var nodes = await store.ListNodesAsync();
            if (nodes.Count > 0 && condition(nodes))
            {
                return;
            }

            Assert.False(timeout.IsCancellationRequested, $"The store did not show it within {Wait.TotalSeconds} s: {string.Join(", ", nodes)}");
            await Task.Delay(20);
        }
    }
}
