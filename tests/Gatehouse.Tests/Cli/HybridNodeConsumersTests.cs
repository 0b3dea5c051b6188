using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Tests.Infrastructure;
using static Gatehouse.Tests.Cli.HybridNodeCommandTests;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// What lives in the store beside the revisions reaching hybrid data nodes (issue 21): portal applications and their
/// keys, through the node API's signed consumer batches; and node tokens bound to one node id. Real processes on loopback:
/// a control plane on a SQLite file, a data node that never sees it, and this test writing portal applications into that
/// file as another control plane would.
/// </summary>
[Trait("Issue", "21")]
public sealed class HybridNodeConsumersTests
{
    [Fact]
    public async Task PortalKey_MadeOnTheControlPlane_WorksOnAHybridNodeWithin1s_ARevokedOneStops_AndARestartDuringAnOutageServesThemFromDisk()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi, nodeToken) = await StartRetailControlPlaneAsync(folder, backend);
        await using var _ = control;

        var state = Path.Combine(folder.Path, "node");
        string kept, revoked;
        await using (var data = StartDataNode(folder, nodeApi, nodeToken, state))
        {
            var (gateway, _, _) = await DataUrlsAsync(data);
            // The plan's config is served when the route asks for a key.
            await StatusAsync(gateway, null, HttpStatusCode.Unauthorized, "the route to be served");

            await using var store = await ConfigStores.OpenAsync("sqlite:" + Path.Combine(folder.Path, "cp.db"), TimeProvider.System);
            var consumers = ConsumersOf(store, folder);
            Assert.Null(await consumers.SignUpAsync("ada@example.com", "Ada", "correct staple horse battery", CancellationToken.None));
            var (account, _, _) = await consumers.LogInAsync("ada@example.com", "correct staple horse battery", "127.0.0.1", CancellationToken.None);
            Assert.NotNull(account);

            var (first, firstKey, problem) = await consumers.CreateApplicationAsync(account, "Shop", "", "retail", "portal:ada", CancellationToken.None);
            Assert.Null(problem);
            var clock = Stopwatch.StartNew();
            await StatusAsync(gateway, firstKey, HttpStatusCode.OK, "the new portal key to work on the hybrid node");
            var took = clock.Elapsed;
            // The long poll brings it (the store is checked every 250 ms); the issue's 1 s is a target for a bench on a
            // quiet machine, so the test only bounds it loosely.
            Assert.True(took < TimeSpan.FromSeconds(10), $"the key worked on the hybrid node {took.TotalMilliseconds:F0} ms after it was made");

            var (second, secondKey, problem2) = await consumers.CreateApplicationAsync(account, "Shop 2", "", "retail", "portal:ada", CancellationToken.None);
            Assert.Null(problem2);
            await StatusAsync(gateway, secondKey, HttpStatusCode.OK, "the second key");

            // Its owner's allowed addresses reach the node too: from this machine's address the key is refused, until
            // they are lifted.
            Assert.Null((await consumers.SetAllowedAddressesAsync(account.Id, second!.Id, ["192.0.2.0/24"], "portal:ada", CancellationToken.None)).Problem);
            await StatusAsync(gateway, secondKey, HttpStatusCode.Forbidden, "the allowed addresses to refuse this one on the hybrid node");
            Assert.Null((await consumers.SetAllowedAddressesAsync(account.Id, second.Id, [], "portal:ada", CancellationToken.None)).Problem);
            await StatusAsync(gateway, secondKey, HttpStatusCode.OK, "the second key again");

            // Revoked through the admin API: it stops working on the hybrid node; the other key does not.
            using (var client = RunRoleCommandTests.AdminClient(admin, Token))
            {
                using var revoke = await client.DeleteAsync($"/admin/portal/applications/{first!.Id}/keys/{first.Keys.Single().Prefix}");
                Assert.Equal(HttpStatusCode.OK, revoke.StatusCode);
            }

            await StatusAsync(gateway, firstKey, HttpStatusCode.Unauthorized, "the revoked key to be refused");
            Assert.Equal(HttpStatusCode.OK, await CallAsync(gateway, secondKey));
            (kept, revoked) = (secondKey!, firstKey!);

            // The node reports the consumer change it has; keys are on disk as hashes only.
            var newest = await store.NewestConsumerSeqAsync();
            await NodeRowAsync(admin, "edge-1", r => (long?)r["info"]?["consumers"] == newest);
            Assert.True(File.Exists(Path.Combine(state, "consumers.json")));
            var signed = Directory.GetFiles(state, "consumers.*").SelectMany(File.ReadAllLines).Where(l => l.Length > 0)
                .Select(l => System.Text.Encoding.UTF8.GetString(Convert.FromBase64String((string)JsonNode.Parse(l)!["payload"]!)));
            var onDisk = string.Concat(signed);
            Assert.Contains(Model.Access.ApiKeyHash.Sha256Hex(kept), onDisk, StringComparison.Ordinal);
            Assert.DoesNotContain(kept, onDisk, StringComparison.Ordinal);
            Assert.DoesNotContain(revoked, onDisk, StringComparison.Ordinal);

            control.Signal(9); // SIGKILL: the control plane is away from here on
            await control.WaitForExitAsync(TimeSpan.FromSeconds(30));
        }

        // A data node started during the outage accepts the portal key it knew, and still refuses the revoked one.
        await using var restarted = StartDataNode(folder, nodeApi, nodeToken, state);
        var (gateway2, _, served) = await DataUrlsAsync(restarted);
        Assert.StartsWith("revision ", served, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, await CallAsync(gateway2, kept));
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(gateway2, revoked));
    }

    /// <summary>
    /// A data node away while an application is deleted and the deletion pruned from the store's change log
    /// (<c>gatehouse prune --audit-older-than</c>) cannot learn of it from the changes after the one it has: the control
    /// plane sends it the whole set instead, and it takes it. Before, the deleted application's key kept working there.
    /// </summary>
    [Fact]
    public async Task ANodeAwayWhileADeletionIsPruned_GetsTheWholeSet_AndTheDeletedKeyStopsWorkingThere()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi, nodeToken) = await StartRetailControlPlaneAsync(folder, backend);
        await using var _ = control;

        await using var store = await ConfigStores.OpenAsync("sqlite:" + Path.Combine(folder.Path, "cp.db"), TimeProvider.System);
        var consumers = ConsumersOf(store, folder);
        Assert.Null(await consumers.SignUpAsync("bea@example.com", "Bea", "correct staple horse battery", CancellationToken.None));
        var (account, _, _) = await consumers.LogInAsync("bea@example.com", "correct staple horse battery", "127.0.0.1", CancellationToken.None);
        var (gone, goneKey, _) = await consumers.CreateApplicationAsync(account!, "Gone", "", "retail", "portal:bea", CancellationToken.None);
        var (_, keptKey, _) = await consumers.CreateApplicationAsync(account!, "Kept", "", "retail", "portal:bea", CancellationToken.None);

        var state = Path.Combine(folder.Path, "node");
        await using (var data = StartDataNode(folder, nodeApi, nodeToken, state))
        {
            var (gateway, _, _) = await DataUrlsAsync(data);
            await StatusAsync(gateway, goneKey, HttpStatusCode.OK, "the first key on the node");
            await StatusAsync(gateway, keptKey, HttpStatusCode.OK, "the second key on the node");
        }

        Assert.Null(await consumers.DeleteApplicationAsync(account!.Id, gone!.Id, "portal:bea", CancellationToken.None));
        var (_, newKey, _) = await consumers.CreateApplicationAsync(account, "New", "", "retail", "portal:bea", CancellationToken.None);
        var pruned = await store.PruneAsync(keepRevisions: 100, auditBefore: DateTimeOffset.UtcNow.AddMinutes(1));
        Assert.Equal(1, pruned.Tombstones);

        await using var back = StartDataNode(folder, nodeApi, nodeToken, state);
        var (gateway2, _, _) = await DataUrlsAsync(back);
        await StatusAsync(gateway2, newKey, HttpStatusCode.OK, "the key made while the node was away");
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(gateway2, goneKey));
        Assert.Equal(HttpStatusCode.OK, await CallAsync(gateway2, keptKey));
    }

    [Fact]
    public async Task NodeToken_BindsTheFirstNodeIdOrTheOneItWasIssuedFor_AndRefusesAnyOtherWithAProblem()
    {
        using var folder = new TempFolder();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        await using var _ = control;
        var firstUse = await IssueNodeTokenAsync(admin, "edge");
        var issuedFor = await IssueNodeTokenAsync(admin, "pinned", "edge-9");
        // The node API's certificate is the test's own self-signed one: this client is not what is tested.
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator })
        {
            BaseAddress = new Uri(nodeApi),
        };

        async Task<HttpResponseMessage> Report(string token, string node, string path = "/node/v1/status", string body = """{"revision":0}""")
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = RunRoleCommandTests.Json(body) };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            request.Headers.Add("Gatehouse-Node", node);
            return await http.SendAsync(request);
        }

        using (var first = await Report(firstUse, "edge-1"))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        foreach (var (token, node, path, body, bound) in new[]
        {
            (firstUse, "edge-2", "/node/v1/status", """{"revision":0}""", "edge-1"),
            (firstUse, "edge-2", "/node/v1/usage", """{"sequence":1,"rows":[]}""", "edge-1"),
            (issuedFor, "edge-1", "/node/v1/status", """{"revision":0}""", "edge-9"),
        })
        {
            using var refused = await Report(token, node, path, body);
            Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            Assert.Equal("urn:gatehouse:problem:node-token-mismatch", (string)problem["type"]!);
            Assert.Contains($"bound to node '{bound}'", (string)problem["detail"]!, StringComparison.Ordinal);
        }

        using (var pinned = await Report(issuedFor, "edge-9"))
        {
            Assert.Equal(HttpStatusCode.NoContent, pinned.StatusCode);
        }

        // Nothing was recorded under the refused ids; the bindings show in the token list.
        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        var nodes = JsonNode.Parse(await client.GetStringAsync("/admin/nodes"))!["items"]!.AsArray().Select(n => (string)n!["id"]!).Order().ToList();
        Assert.Equal(["edge-1", "edge-9"], nodes);
        var tokens = JsonNode.Parse(await client.GetStringAsync("/admin/node-tokens"))!["items"]!.AsArray();
        Assert.Equal("edge-1", (string?)tokens.Single(t => (string)t!["name"]! == "edge")!["node"]);
        Assert.Equal("edge-9", (string?)tokens.Single(t => (string)t!["name"]! == "pinned")!["node"]);

        // Issuing the name again makes a new token, bound anew.
        var rotated = await IssueNodeTokenAsync(admin, "edge");
        using var rebound = await Report(rotated, "edge-2");
        Assert.Equal(HttpStatusCode.NoContent, rebound.StatusCode);
    }

    [Fact]
    [Trait("Issue", "19")]
    public async Task TwoProcessesUnderOneNodeId_TheSecondGets409ForReportsAndUsage_NothingIsWritten_AndTheClashShows()
    {
        using var folder = new TempFolder();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        await using var _ = control;
        var token = await IssueNodeTokenAsync(admin, "edge", "edge-1");
        using var http = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator })
        {
            BaseAddress = new Uri(nodeApi),
        };

        // Two data nodes started with one token and one --node-id: two processes, each with its own instance id.
        async Task<HttpResponseMessage> Send(string instance, string path, string body)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = RunRoleCommandTests.Json(body) };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            request.Headers.Add("Gatehouse-Node", "edge-1");
            request.Headers.Add("Gatehouse-Node-Instance", instance);
            return await http.SendAsync(request);
        }

        static string Usage(long count) => new Gatehouse.Model.Nodes.UsageUpload(1, [new Gatehouse.Model.Usage.UsageRow
        {
            Granularity = Gatehouse.Model.Usage.UsageGranularity.Minute,
            Bucket = 1_800_000_000 - (1_800_000_000 % 60),
            Node = "edge-1",
            Key = new Gatehouse.Model.Usage.UsageKey("shop", "retail", "route:hello", 200),
            Count = count,
            Histogram = new Gatehouse.Model.Usage.LatencyHistogram(),
        }]).ToJson();
        using (var first = await Send("aaaa", "/node/v1/status", """{"revision":0,"host":"edge-a","pid":11}"""))
        {
            Assert.Equal(HttpStatusCode.NoContent, first.StatusCode);
        }

        foreach (var (path, body) in new[] { ("/node/v1/status", """{"revision":0,"host":"edge-b","pid":22}"""), ("/node/v1/usage", Usage(99)) })
        {
            using var refused = await Send("bbbb", path, body);
            Assert.Equal(HttpStatusCode.Conflict, refused.StatusCode);
            var problem = JsonNode.Parse(await refused.Content.ReadAsStringAsync())!;
            Assert.Equal("urn:gatehouse:problem:node-id-clash", (string)problem["type"]!);
            Assert.Contains("Node id 'edge-1' is in use by another running gateway node (host edge-a, pid 11", (string)problem["detail"]!, StringComparison.Ordinal);
        }

        // The holder's upload of the same sequence is taken: the refused one did not use it up.
        using (var upload = await Send("aaaa", "/node/v1/usage", Usage(5)))
        {
            Assert.Equal(HttpStatusCode.OK, upload.StatusCode);
            Assert.True((bool)JsonNode.Parse(await upload.Content.ReadAsStringAsync())!["applied"]!);
        }

        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        var node = JsonNode.Parse(await client.GetStringAsync("/admin/nodes"))!["items"]!.AsArray().Single()!;
        Assert.Equal(("aaaa", "edge-a", "bbbb", 22), ((string?)node["instance"], (string?)node["info"]!["host"], (string?)node["clash"]!["instance"], (int)node["clash"]!["pid"]!));
    }

    [Fact]
    public async Task ForgedConsumerBatch_IsRefused_NoKeyOfItWorks_AndTheGenuineOneIsTakenAfter()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi, nodeToken) = await StartRetailControlPlaneAsync(folder, backend);
        await using var _ = control;

        await using var proxy = await TamperingProxy.StartAsync(nodeApi);
        await using var data = StartDataNode(folder, proxy.Url, nodeToken, Path.Combine(folder.Path, "node"));
        var (gateway, _, _) = await DataUrlsAsync(data);
        await StatusAsync(gateway, null, HttpStatusCode.Unauthorized, "the route to be served");
        // The node has the (empty) set; from now on every consumer batch is signed by a key the node does not pin.
        await NodeRowAsync(admin, "edge-1", r => (long?)r["info"]?["consumers"] == 0);
        proxy.TamperedPath = "/node/v1/consumers";
        proxy.Mode = "other-key";

        await using var store = await ConfigStores.OpenAsync("sqlite:" + Path.Combine(folder.Path, "cp.db"), TimeProvider.System);
        var consumers = ConsumersOf(store, folder);
        Assert.Null(await consumers.SignUpAsync("eve@example.com", "Eve", "correct staple horse battery", CancellationToken.None));
        var (account, _, _) = await consumers.LogInAsync("eve@example.com", "correct staple horse battery", "127.0.0.1", CancellationToken.None);
        var (_, key, problem) = await consumers.CreateApplicationAsync(account!, "Shop", "", "retail", "portal:eve", CancellationToken.None);
        Assert.Null(problem);

        var row = await NodeRowAsync(admin, "edge-1", r => (string?)r["info"]?["consumersRefused"]?["code"] == "unknown-key");
        Assert.Equal(0, (long)row["info"]!["consumers"]!);
        Assert.Equal(HttpStatusCode.Unauthorized, await CallAsync(gateway, key));

        // The genuine batch, once it comes through, is taken.
        proxy.Mode = "none";
        await StatusAsync(gateway, key, HttpStatusCode.OK, "the key of the genuine batch");
    }

    [Fact]
    public async Task SelfRegisteredTarget_OnTheControlPlane_IsServedByTheHybridNode_AndLeavesWhenDeregistered()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        await using var _ = control;
        var nodeToken = await IssueNodeTokenAsync(admin);
        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        using (var put = await client.PutAsync("/admin/services/users", RunRoleCommandTests.Json($$$"""{"registration":{"tokenSha256":"{{{Model.Access.ApiKeyHash.Sha256Hex("ghr_instance")}}}"}}""")))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        using (var put = await client.PutAsync("/admin/routes/hello", RunRoleCommandTests.Json("""{"methods":["GET"],"path":"/hello","service":"users"}""")))
        {
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        await using var data = StartDataNode(folder, nodeApi, nodeToken, Path.Combine(folder.Path, "node"));
        var (gateway, _, _) = await DataUrlsAsync(data);
        // Routed, with no target yet.
        await StatusAsync(gateway, null, HttpStatusCode.ServiceUnavailable, "the route without targets");

        using var instance = RunRoleCommandTests.AdminClient(admin, "ghr_instance");
        var url = backend.Urls.First();
        using (var registered = await instance.PutAsync("/admin/services/users/registrations", RunRoleCommandTests.Json($$"""{"url":"{{url}}"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
        }

        await StatusAsync(gateway, null, HttpStatusCode.OK, "the registered target to serve");
        using (var deleted = await instance.DeleteAsync($"/admin/services/users/registrations?url={Uri.EscapeDataString(url)}"))
        {
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        }

        await StatusAsync(gateway, null, HttpStatusCode.ServiceUnavailable, "the deregistered target to leave");
    }

    /// <summary>
    /// A consumer batch or registration set the node refuses changes nothing there, and is counted on the node's own
    /// <c>/metrics</c> as a refused snapshot is: <c>gatehouse_node_batches_total{feed, outcome="refused", reason}</c>, the
    /// reason one of a fixed set; the ones it takes count as <c>applied</c>.
    /// </summary>
    [Fact]
    public async Task RefusedConsumerBatchesAndRegistrationSets_AreCountedInTheNodesMetrics_ByFeedAndReason()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var config = folder.Write("gatehouse.yaml", $$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            services:
              backend: { targets: [{{backend.Urls.First()}}] }
            routes:
              hello: { methods: [GET], path: /hello, service: backend }
            """);
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder, importConfig: config);
        await using var _ = control;
        var nodeToken = await IssueNodeTokenAsync(admin);
        await using var proxy = await TamperingProxy.StartAsync(nodeApi);
        var state = Path.Combine(folder.Path, "node");
        using var plain = new HttpClient();

        // metrics.url is read at start: the node opens it when it starts with the config on its disk.
        await using (var first = StartDataNode(folder, proxy.Url, nodeToken, state))
        {
            var (gateway, _, _) = await DataUrlsAsync(first);
            await RunRoleCommandTests.UntilOkAsync(plain, gateway + "/hello");
            Assert.Equal(0, await first.StopAsync(TimeSpan.FromSeconds(30)));
        }

        // Without a consumer set on disk the node asks for the whole one at once; from the start it comes signed by a key
        // the node does not pin.
        File.Delete(Path.Combine(state, "consumers.json"));
        proxy.TamperedPath = "/node/v1/consumers";
        proxy.Mode = "other-key";
        await using var data = StartDataNode(folder, proxy.Url, nodeToken, state);
        await DataUrlsAsync(data);
        var metrics = await data.WaitForOutputAsync(new System.Text.RegularExpressions.Regex(@"Metrics: (http://\S+/metrics)"), TimeSpan.FromSeconds(30));
        async Task<IReadOnlyList<Gatehouse.Gateway.Tests.Infrastructure.PrometheusSample>> Series() =>
            (await Gatehouse.Gateway.Tests.Infrastructure.PrometheusParser.ParseAsync(await plain.GetStringAsync(metrics)))
                .Where(s => s.Name == "gatehouse_node_batches_total").ToList();
        async Task<double> Batches(string feed, string outcome, string? reason = null) =>
            (await Series()).Where(s => s.Labels["feed"] == feed && s.Labels["outcome"] == outcome && s.Labels.GetValueOrDefault("reason") == reason).Sum(s => s.Value);
        async Task Until(Func<Task<bool>> condition, string what)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!await condition())
            {
                Assert.True(DateTime.UtcNow < deadline, $"waited 30 s for {what}; {string.Join(", ", (await Series()).Select(s => $"{string.Join(",", s.Labels.Select(l => $"{l.Key}={l.Value}"))} {s.Value}"))}");
                await Task.Delay(100);
            }
        }

        await Until(async () => await Batches("consumers", "refused", "unknown_key") >= 1, "a refused consumer batch to be counted");
        Assert.Equal(0, await Batches("consumers", "applied"));
        await Until(async () => await Batches("registrations", "applied") >= 1, "the untouched registration sets to count as applied");

        // The genuine set, at the next ask, is taken.
        proxy.Mode = "none";
        await Until(async () => await Batches("consumers", "applied") >= 1, "the genuine consumer set to count as applied");

        // Registration sets: one with a changed byte, then a genuine signed answer of another kind (the proxy's first
        // answer on a tampered path: a config snapshot), which is no registration set.
        proxy.TamperedPath = "/node/v1/registrations";
        proxy.Mode = "flip";
        await Until(async () => await Batches("registrations", "refused", "bad_signature") >= 1, "a refused registration set to be counted");
        proxy.Mode = "replay";
        await Until(async () => await Batches("registrations", "refused", "malformed") >= 1, "a registration set of another kind to be counted");
        proxy.Mode = "none";

        // A reason only on refusals, and only from the fixed set.
        var series = await Series();
        Assert.All(series.Where(s => s.Labels["outcome"] == "applied"), s => Assert.False(s.Labels.ContainsKey("reason")));
        Assert.All(series.Where(s => s.Labels["outcome"] == "refused"), s => Assert.Contains(s.Labels["reason"], new[] { "bad_signature", "unknown_key", "malformed", "rollback", "gap" }));
    }

    // The control plane with one route (hello, to the backend) on the retail plan, and a node token for a data node.
    private static async Task<(GatehouseProcess Control, string Admin, string NodeApi, string NodeToken)> StartRetailControlPlaneAsync(TempFolder folder, Microsoft.AspNetCore.Builder.WebApplication backend)
    {
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        try
        {
            var nodeToken = await IssueNodeTokenAsync(admin);
            await PutRouteAsync(admin, "hello", backend.Urls.First(), withService: true);
            using var client = RunRoleCommandTests.AdminClient(admin, Token);
            using var plan = await client.PutAsync("/admin/plans/retail", RunRoleCommandTests.Json("""{"include":[{"route":"hello"}]}"""));
            Assert.Equal(HttpStatusCode.Created, plan.StatusCode);
            return (control, admin, nodeApi, nodeToken);
        }
        catch
        {
            await control.DisposeAsync();
            throw;
        }
    }

    // Portal consumers written straight into the control plane's store, as another control plane would.
    private static ConsumerService ConsumersOf(IConfigStore store, TempFolder folder) =>
        new(store, null, async ct => (await StoreConfig.LoadAsync(store, folder.Path, null, cancellationToken: ct)).Result.Config, TimeProvider.System);

    private static async Task<HttpStatusCode> CallAsync(string gateway, string? key)
    {
        using var client = new HttpClient();
        if (key is not null)
        {
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
        }

        using var response = await client.GetAsync(gateway + "/hello");
        return response.StatusCode;
    }

    private static async Task StatusAsync(string gateway, string? key, HttpStatusCode expected, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        var last = (HttpStatusCode)0;
        while (DateTime.UtcNow < deadline)
        {
            last = await CallAsync(gateway, key);
            if (last == expected)
            {
                return;
            }

            await Task.Delay(20);
        }

        Assert.Fail($"waited 30 s for {what}: GET /hello answered {(int)last}, not {(int)expected}");
    }
}
