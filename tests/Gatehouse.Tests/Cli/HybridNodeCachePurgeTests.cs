using System.Globalization;
using System.Net;
using Gatehouse.Tests.Infrastructure;
using static Gatehouse.Tests.Cli.ClusterCachePurgeTests;
using static Gatehouse.Tests.Cli.HybridNodeCommandTests;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Purges of the gateways' memory caches reach hybrid data nodes and come from them (issues 21 and 23, docs/policies.md):
/// a purge through the control plane's admin API drops a hybrid node's cached answer, a write through the hybrid node
/// drops a store node's, and a purge batch changed on its way (a man in the middle) is refused, so the hybrid node keeps
/// its answer until the genuine batch comes. Real processes: a control plane on a SQLite file, a hybrid node that never
/// sees it (behind a proxy), and a data node on the same file.
/// </summary>
[Trait("Issue", "21")]
[Trait("Issue", "23")]
public sealed class HybridNodeCachePurgeTests
{
    [Fact]
    public async Task APurgeOnTheControlPlane_DropsTheHybridNodesAnswer_AWriteThroughTheHybridNode_DropsAStoreNodesAnswer_AndATamperedBatchIsRefused()
    {
        using var folder = new TempFolder();
        var version = 1;
        await using var backend = await StartVersionedBackendAsync(() => version, () => Interlocked.Increment(ref version));
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        await using var _ = control;
        using (var client = RunRoleCommandTests.AdminClient(admin, Token))
        {
            using var service = await client.PutAsync("/admin/services/backend", RunRoleCommandTests.Json($$"""{"targets":["{{backend.Urls.First()}}"]}"""));
            Assert.Equal(HttpStatusCode.Created, service.StatusCode);
            using var read = await client.PutAsync("/admin/routes/items-get", RunRoleCommandTests.Json("""{"methods":["GET"],"path":"/items/{id}","service":"backend","policies":{"cache":{"ttl":"5m","shared":true}}}"""));
            Assert.Equal(HttpStatusCode.Created, read.StatusCode);
            using var write = await client.PutAsync("/admin/routes/items-post", RunRoleCommandTests.Json("""{"methods":["POST"],"path":"/items/{id}","service":"backend"}"""));
            Assert.Equal(HttpStatusCode.Created, write.StatusCode);
        }

        var nodeToken = await IssueNodeTokenAsync(admin);
        await using var proxy = await TamperingProxy.StartAsync(nodeApi);
        proxy.TamperedPath = "/node/v1/cache-purges";
        await using var hybrid = StartDataNode(folder, proxy.Url, nodeToken, Path.Combine(folder.Path, "node"));
        await using var stored = GatehouseProcess.Start(new Dictionary<string, string> { ["GATEHOUSE_STORE_POLL_INTERVAL"] = "0.2" },
            "run", "--role", "data", "--store", "sqlite:" + Path.Combine(folder.Path, "cp.db"), "--port", "0", "--admin-url", "http://127.0.0.1:0", "--node-id", "data-1");
        var (edge, _, _) = await DataUrlsAsync(hybrid);
        await stored.WaitForOutputAsync(RunRoleCommandTests.DataLine, TimeSpan.FromSeconds(60));
        var store = RunRoleCommandTests.DataLine.Match(stored.StandardOutput).Groups[1].Value.TrimEnd(',');

        using var http = new HttpClient();
        await RunRoleCommandTests.UntilOkAsync(http, edge + "/items/7");
        await RunRoleCommandTests.UntilOkAsync(http, store + "/items/7");
        Assert.Equal(("v1", "hit"), await GetAsync(http, edge + "/items/7"));
        Assert.Equal(("v1", "hit"), await GetAsync(http, store + "/items/7"));

        // A change behind the gateways' backs, then a purge through the control plane's admin API: the hybrid node drops
        // its answer (the store node too), though it never sees the store.
        Interlocked.Increment(ref version);
        Assert.Equal(("v1", "hit"), await GetAsync(http, edge + "/items/7"));
        await PurgeAsync(admin, "/items/7");
        await UntilAsync(async () => (await GetAsync(http, edge + "/items/7")).Body == "v2", "the hybrid node still serves what the control plane purged");
        await UntilAsync(async () => (await GetAsync(http, store + "/items/7")).Body == "v2", "the store node still serves what the control plane purged");
        Assert.Equal(("v2", "hit"), await GetAsync(http, edge + "/items/7"));
        Assert.Equal(("v2", "hit"), await GetAsync(http, store + "/items/7"));

        // A write through the hybrid node: it drops its own answer before answering, and the store node drops its one soon
        // after, through the control plane.
        using (var post = await http.PostAsync(edge + "/items/7", null))
        {
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        }

        Assert.Equal("v3", (await GetAsync(http, edge + "/items/7")).Body);
        await UntilAsync(async () => (await GetAsync(http, store + "/items/7")).Body == "v3", "the store node still serves the answer the hybrid node's write outdated");
        Assert.Equal(("v3", "hit"), await GetAsync(http, edge + "/items/7"));

        // A purge batch with a changed byte is refused: the hybrid node keeps its answer (the store node, which reads the
        // store, drops its one), until the genuine batch comes at its next ask.
        proxy.Mode = "flip";
        Interlocked.Increment(ref version);
        await PurgeAsync(admin, "/items/7");
        await UntilAsync(async () => (await GetAsync(http, store + "/items/7")).Body == "v4", "the store node still serves what the control plane purged");
        var refused = await NodeRowAsync(admin, "edge-1", r => r["info"]?["cachePurgesRefused"] is not null);
        Assert.Equal("bad-signature", (string?)refused["info"]!["cachePurgesRefused"]!["code"]);
        Assert.Equal(("v3", "hit"), await GetAsync(http, edge + "/items/7"));
        proxy.Mode = "none";
        await UntilAsync(async () => (await GetAsync(http, edge + "/items/7")).Body == "v4", "the hybrid node still serves what the control plane purged, once the batch came untouched");
    }

    private static async Task PurgeAsync(string admin, string path)
    {
        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        using var purge = await client.PostAsync("/admin/cache/purge", RunRoleCommandTests.Json($$"""{"route":"items-get","path":"{{path}}"}"""));
        Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
    }
}
