using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Hybrid data nodes (issue 21): <c>gatehouse run --role data --control-plane URL --node-token TOKEN</c> against a real
/// control plane's node API over HTTPS, as processes. The node never sees the store.
/// </summary>
[Trait("Issue", "21")]
public sealed class HybridNodeCommandTests
{
    internal const string Token = "gha_hybrid-test";
    private static readonly Regex NodeApiLine = new(@"Node API for hybrid data nodes on (https://\S+);");
    private static readonly Regex ControlLine = new(@"Gatehouse control plane \(store revision \d+\): admin API on (http://[^\s;]+);");
    private static readonly Regex DataLine = new(@"hybrid data node \S+ is listening on (http://\S+) \((.*?); /ready and /live on (http://[^\s)]+)\)");

    [Fact]
    public async Task DataNode_ReadyOnlyWithAConfig_ServesChanges_ReportsThem_AndRestartsFromDiskWhileTheControlPlaneIsDown()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        var nodeToken = await IssueNodeTokenAsync(admin);
        var state = Path.Combine(folder.Path, "node");
        using var plain = new HttpClient();

        string gateway, health;
        await using (var data = StartDataNode(folder, nodeApi, nodeToken, state))
        {
            (gateway, health, var served) = await DataUrlsAsync(data);
            Assert.StartsWith("no config yet", served, StringComparison.Ordinal);
            using (var notReady = await plain.GetAsync(health + "/ready"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
            }

            await PutRouteAsync(admin, "hello", backend.Urls.First(), withService: true);
            await RunRoleCommandTests.UntilOkAsync(plain, gateway + "/hello");
            using (var ready = await plain.GetAsync(health + "/ready"))
            {
                Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
            }

            var row = await NodeRowAsync(admin, "edge-1", r => (long)r["revision"]! == 2);
            Assert.Equal("hybrid", (string)row["info"]!["kind"]!);
            Assert.Equal("edge", (string)row["info"]!["token"]!);
            Assert.Equal("serving", (string)row["info"]!["state"]!);
            Assert.True(File.Exists(Path.Combine(state, "snapshot-000000000002.json")));
            // No plaintext secret travels: the snapshot on disk is the signed document, and it holds no admin or node token.
            var onDisk = await File.ReadAllTextAsync(Path.Combine(state, "snapshot-000000000002.json"));
            Assert.DoesNotContain(nodeToken, onDisk, StringComparison.Ordinal);
        }

        // The control plane goes away; a data node started now serves its last good config from disk.
        Assert.Equal(0, await control.StopAsync(TimeSpan.FromSeconds(30)));
        await control.DisposeAsync();
        await using var restarted = StartDataNode(folder, nodeApi, nodeToken, state);
        var (gateway2, health2, served2) = await DataUrlsAsync(restarted);
        Assert.StartsWith("revision 2 from ", served2, StringComparison.Ordinal);
        Assert.Equal("from the backend", await plain.GetStringAsync(gateway2 + "/hello"));
        using var readyFromDisk = await plain.GetAsync(health2 + "/ready");
        Assert.Equal(HttpStatusCode.OK, readyFromDisk.StatusCode);
    }

    /// <summary>
    /// A node started as the docs' first example starts it, without <c>--node-id</c>: the token is bound to the id it
    /// made, and the id is kept in its state folder, so the node restarted (a new process, a new pid) is still that node.
    /// Another node given the same token, with a state folder of its own, is refused.
    /// </summary>
    [Fact]
    [Trait("Issue", "19")]
    public async Task DataNode_WithoutNodeId_KeepsTheIdItMadeAcrossARestart_AndASecondNodeOnItsTokenIsRefused()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        await using var _ = control;
        var nodeToken = await IssueNodeTokenAsync(admin);
        await PutRouteAsync(admin, "hello", backend.Urls.First(), withService: true);
        var state = Path.Combine(folder.Path, "node");
        using var plain = new HttpClient();

        string id;
        await using (var first = StartDataNode(folder, nodeApi, nodeToken, state, id: null))
        {
            var (gateway, _, _) = await DataUrlsAsync(first);
            id = DataId(first);
            Assert.Matches(@"^[A-Za-z0-9._-]+-[0-9a-f]{8}$", id);
            Assert.Contains($"Node id {id} made now and kept in {Path.Combine(state, "node-id")}", first.StandardOutput, StringComparison.Ordinal);
            Assert.Equal(id, (await File.ReadAllTextAsync(Path.Combine(state, "node-id"))).Trim());
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(Path.Combine(state, "node-id")));
            }

            await RunRoleCommandTests.UntilOkAsync(plain, gateway + "/hello");
            await NodeRowAsync(admin, id, r => (long)r["revision"]! == 2 && (int)r["info"]!["pid"]! == first.Id);
            Assert.Equal(0, await first.StopAsync(TimeSpan.FromSeconds(30)));
        }

        // A new process on the same folder: the same id, so the token still serves it; a change made now reaches it, and
        // its reports (with its new pid) are taken.
        await using var restarted = StartDataNode(folder, nodeApi, nodeToken, state, id: null);
        var (gateway2, _, _) = await DataUrlsAsync(restarted);
        Assert.Equal(id, DataId(restarted));
        Assert.DoesNotContain("made now", restarted.StandardOutput, StringComparison.Ordinal);
        await PutRouteAsync(admin, "again", backend.Urls.First());
        await RunRoleCommandTests.UntilOkAsync(plain, gateway2 + "/again");
        await NodeRowAsync(admin, id, r => (long)r["revision"]! == 3 && (int)r["info"]!["pid"]! == restarted.Id && (string?)r["info"]!["state"] == "serving");

        // A second node given the same token, with a folder of its own, makes another id: the token refuses it.
        await using var other = StartDataNode(folder, nodeApi, nodeToken, Path.Combine(folder.Path, "other"), id: null);
        var (_, health3, _) = await DataUrlsAsync(other);
        var otherId = DataId(other);
        Assert.NotEqual(id, otherId);
        await other.WaitForOutputAsync(new Regex("node-token-mismatch"), TimeSpan.FromSeconds(30));
        Assert.Contains($"bound to node '{id}'", other.StandardOutput + other.StandardError, StringComparison.Ordinal);
        using (var notReady = await plain.GetAsync(health3 + "/ready"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, notReady.StatusCode);
        }

        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        var ids = JsonNode.Parse(await client.GetStringAsync("/admin/nodes"))!["items"]!.AsArray().Select(n => (string)n!["id"]!).ToList();
        Assert.Equal([id], ids);
    }

    internal static string DataId(GatehouseProcess data) => Regex.Match(data.StandardOutput, @"hybrid data node (\S+) is listening").Groups[1].Value;

    [Fact]
    public async Task Tampering_FlippedByte_OtherKey_AndReplayedOlderRevision_AreRefused_KeepServing_AndShowInTheNodesList()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        await using var _ = control;
        var nodeToken = await IssueNodeTokenAsync(admin);
        await using var proxy = await TamperingProxy.StartAsync(nodeApi);
        var state = Path.Combine(folder.Path, "node");
        await using var data = StartDataNode(folder, proxy.Url, nodeToken, state);
        var (gateway, _, _) = await DataUrlsAsync(data);
        using var plain = new HttpClient();

        await PutRouteAsync(admin, "hello", backend.Urls.First(), withService: true);
        await RunRoleCommandTests.UntilOkAsync(plain, gateway + "/hello");
        // The proxy passes the node protocol's headers: the control plane knows the node's process by its instance, as it
        // would without the proxy.
        var instance = (await File.ReadAllTextAsync(Path.Combine(state, "instance"))).Trim();
        await NodeRowAsync(admin, "edge-1", r => (string?)r["instance"] == instance);

        foreach (var (mode, route, code) in new[] { ("flip", "r3", "bad-signature"), ("other-key", "r4", "unknown-key"), ("replay", "r5", "rollback") })
        {
            proxy.Mode = mode;
            await PutRouteAsync(admin, route, backend.Urls.First());
            var row = await NodeRowAsync(admin, "edge-1", r => (string?)r["info"]?["refused"]?["code"] == code);
            Assert.Equal(2, (long)row["revision"]!);
            using var notServed = await plain.GetAsync(gateway + "/" + route);
            Assert.Equal(HttpStatusCode.NotFound, notServed.StatusCode);
            Assert.Equal("from the backend", await plain.GetStringAsync(gateway + "/hello"));
        }

        // Untampered again: the next revision (with every route made meanwhile) is accepted.
        proxy.Mode = "none";
        await PutRouteAsync(admin, "r6", backend.Urls.First());
        await RunRoleCommandTests.UntilOkAsync(plain, gateway + "/r6");
        Assert.Equal("from the backend", await plain.GetStringAsync(gateway + "/r3"));
        await NodeRowAsync(admin, "edge-1", r => (long)r["revision"]! == 6);
    }

    /// <summary>
    /// A snapshot the node refuses for its signature or its revision is counted on the node's own <c>/metrics</c>, where a
    /// config file's refused reload is: <c>gatehouse_config_reloads_total{outcome="refused"}</c>, by reason.
    /// </summary>
    [Fact]
    [Trait("Issue", "19")]
    public async Task RefusedSnapshots_AreCountedInTheNodesReloadMetric_ByReason()
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

        await using var data = StartDataNode(folder, proxy.Url, nodeToken, state);
        var (gateway2, _, _) = await DataUrlsAsync(data);
        var metrics = await data.WaitForOutputAsync(new Regex(@"Metrics: (http://\S+/metrics)"), TimeSpan.FromSeconds(30));
        async Task<double> Refused(string reason) =>
            (await Gatehouse.Gateway.Tests.Infrastructure.PrometheusParser.ParseAsync(await plain.GetStringAsync(metrics)))
                .Where(s => s.Name == "gatehouse_config_reloads_total" && s.Labels["outcome"] == "refused" && s.Labels.GetValueOrDefault("reason") == reason)
                .Sum(s => s.Value);

        var reasons = new[] { ("flip", "r3", "bad-signature", "bad_signature"), ("other-key", "r4", "unknown-key", "unknown_key"), ("replay", "r5", "rollback", "rollback") };
        foreach (var (_, _, _, reason) in reasons)
        {
            Assert.Equal(0, await Refused(reason));
        }

        foreach (var (mode, route, code, reason) in reasons)
        {
            proxy.Mode = mode;
            await PutRouteAsync(admin, route, backend.Urls.First());
            await NodeRowAsync(admin, "edge-1", r => (string?)r["info"]?["refused"]?["code"] == code);
            Assert.Equal(1, await Refused(reason));
        }

        // Counted once each, and the next good revision is applied, not refused.
        proxy.Mode = "none";
        await PutRouteAsync(admin, "r6", backend.Urls.First());
        await RunRoleCommandTests.UntilOkAsync(plain, gateway2 + "/r6");
        foreach (var (_, _, _, reason) in reasons)
        {
            Assert.Equal(1, await Refused(reason));
        }

        Assert.Equal(0, await Refused("invalid_config"));
    }

    /// <summary>
    /// The control plane is killed (SIGKILL) under a load loop across two hybrid data nodes: no request of a known key
    /// fails. The issue asks for 60 s; the suite holds the outage 10 s, and GATEHOUSE_TEST_OUTAGE_SECONDS=60 runs the long one.
    /// </summary>
    [Fact]
    public async Task ControlPlaneOutage_UnderLoad_NoRequestOfAKnownKeyFails_AndTheNextChangeReachesEveryNode()
    {
        var outage = TimeSpan.FromSeconds(int.TryParse(Environment.GetEnvironmentVariable("GATEHOUSE_TEST_OUTAGE_SECONDS"), out var seconds) ? seconds : 10);
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var port = RunRoleCommandTests.FreePort();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder, port);
        // A token binds one node id: each data node has its own.
        var tokenOne = await IssueNodeTokenAsync(admin, "edge-1");
        var tokenTwo = await IssueNodeTokenAsync(admin, "edge-2");
        await PutRouteAsync(admin, "hello", backend.Urls.First(), withService: true);
        string key;
        using (var client = RunRoleCommandTests.AdminClient(admin, Token))
        {
            foreach (var (path, body) in new[] { ("/admin/plans/retail", """{"include":[{"route":"hello"}]}"""), ("/admin/accounts/acme", """{"title":"ACME"}"""), ("/admin/applications/shop", """{"account":"acme","plan":"retail"}""") })
            {
                using var put = await client.PutAsync(path, RunRoleCommandTests.Json(body));
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }

            using var made = await client.PostAsync("/admin/applications/shop/keys", RunRoleCommandTests.Json("{}"));
            Assert.Equal(HttpStatusCode.Created, made.StatusCode);
            key = (string)JsonNode.Parse(await made.Content.ReadAsStringAsync())!["key"]!;
        }

        await using var one = StartDataNode(folder, nodeApi, tokenOne, Path.Combine(folder.Path, "one"), "edge-1");
        await using var two = StartDataNode(folder, nodeApi, tokenTwo, Path.Combine(folder.Path, "two"), "edge-2");
        var gateways = new[] { (await DataUrlsAsync(one)).Gateway, (await DataUrlsAsync(two)).Gateway };
        using var plain = new HttpClient();
        plain.DefaultRequestHeaders.Add("X-Api-Key", key);
        foreach (var gateway in gateways)
        {
            await RunRoleCommandTests.UntilOkAsync(plain, gateway + "/hello");
        }

        using (var anonymous = await new HttpClient().GetAsync(gateways[0] + "/hello"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        }

        var (sent, failed) = (0, new List<string>());
        using var stopLoad = new CancellationTokenSource();
        var load = Task.Run(async () =>
        {
            while (!stopLoad.IsCancellationRequested)
            {
                var gateway = gateways[sent++ % 2];
                try
                {
                    using var response = await plain.GetAsync(gateway + "/hello");
                    if (response.StatusCode != HttpStatusCode.OK)
                    {
                        failed.Add($"{gateway}: {(int)response.StatusCode}");
                    }
                }
                catch (HttpRequestException e)
                {
                    failed.Add($"{gateway}: {e.Message}");
                }
            }
        });

        await Task.Delay(TimeSpan.FromSeconds(1));
        await control.DisposeAsync(); // SIGKILL
        await Task.Delay(outage);
        var (restarted, admin2, _) = await StartControlPlaneAsync(folder, port);
        await using var _ = restarted;
        await Task.Delay(TimeSpan.FromSeconds(1));
        await stopLoad.CancelAsync();
        await load;
        Assert.True(failed.Count == 0, $"{failed.Count} of {sent} failed: {string.Join("; ", failed.Take(5))}");
        Assert.True(sent > 100, $"only {sent} requests were sent");

        // Back: a change reaches both nodes (how fast is bench/'s to measure).
        using (var client = RunRoleCommandTests.AdminClient(admin2, Token))
        {
            using var put = await client.PutAsync("/admin/plans/retail", RunRoleCommandTests.Json("""{"include":[{"route":"hello"},{"route":"bye"}]}"""));
            Assert.Equal(HttpStatusCode.UnprocessableEntity, put.StatusCode); // no route bye yet: refused, nothing changes
        }

        // Served means routed: 401 (bye is in no anonymous plan) rather than 404.
        await PutRouteAsync(admin2, "bye", backend.Urls.First());
        foreach (var (gateway, node) in gateways.Zip([one, two]))
        {
            using var anonymous = new HttpClient();
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                using var response = await anonymous.GetAsync(gateway + "/bye");
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    break;
                }

                Assert.True(DateTime.UtcNow < deadline, $"{gateway}/bye still answers {(int)response.StatusCode} after 30 s; the node said:\n{node.StandardOutput}\n{node.StandardError}\nthe control plane said:\n{restarted.StandardOutput}\n{restarted.StandardError}");
                await Task.Delay(20);
            }
        }
    }

    /// <summary>
    /// Usage of a hybrid node reaches the control plane through its journal, counted exactly once: the node is killed
    /// (SIGKILL) after the control plane applied an upload and before the node heard so; restarted, it sends that entry
    /// again (a repeat, ignored) and goes on counting from its journal.
    /// </summary>
    [Fact]
    public async Task Usage_KilledMidUpload_IsCountedExactlyOnce_AndCountingGoesOnAfterTheRestart()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        await using var _ = control;
        var nodeToken = await IssueNodeTokenAsync(admin);
        var key = await KeyedRouteAsync(admin, backend.Urls.First());
        await using var proxy = await TamperingProxy.StartAsync(nodeApi);
        var state = Path.Combine(folder.Path, "node");
        using var keyed = new HttpClient();
        keyed.DefaultRequestHeaders.Add("X-Api-Key", key);

        const int Before = 40, After = 25;
        await using (var data = StartDataNode(folder, proxy.Url, nodeToken, state))
        {
            var (gateway, _, _) = await DataUrlsAsync(data);
            await RunRoleCommandTests.UntilOkAsync(keyed, gateway + "/hello");
            await UsageCountAsync(admin, c => c >= 1); // the first flush (with that first 200) went through
            proxy.Mode = "hold-usage";
            var applied = proxy.UsageApplied;
            for (var i = 1; i < Before; i++)
            {
                using var response = await keyed.GetAsync(gateway + "/hello");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }

            // An upload was applied and its answer is held; everything counted is in the journal on disk.
            await UntilAsync(() => proxy.UsageApplied > applied, "an upload applied while its answer is held");
            await UntilAsync(() => JournalCount(state) == Before, $"{Before} calls in the node's journal");
        } // SIGKILL while the node waits for the answer to the upload the control plane applied

        proxy.Mode = "none";
        var repeatedBefore = proxy.UsageRepeated;
        await using var again = StartDataNode(folder, proxy.Url, nodeToken, state);
        var (gateway2, _, _) = await DataUrlsAsync(again);
        for (var i = 0; i < After; i++)
        {
            using var response = await keyed.GetAsync(gateway2 + "/hello");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        await UsageCountAsync(admin, c => c == Before + After);
        Assert.True(proxy.UsageRepeated > repeatedBefore, "the entry in flight at the kill was not sent again");
        // Nothing more arrives later: two more flush intervals, and the count stays.
        await Task.Delay(TimeSpan.FromSeconds(11));
        Assert.Equal(Before + After, await UsageCountAsync(admin, _ => true));
    }

    /// <summary>
    /// A hybrid node without <c>--cluster-limits</c> counts its limits alone, and keeps its quota counts in its state folder:
    /// a day's quota used before a stop is still used after the restart, with the control plane away by then.
    /// </summary>
    [Fact]
    public async Task Quota_CountedOnTheNode_IsKeptInItsStateFolder_AcrossARestart()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        var nodeToken = await IssueNodeTokenAsync(admin);
        var key = await KeyedRouteAsync(admin, backend.Urls.First(), """{"include":[{"route":"hello"}],"limits":[{"requests":3,"per":"day"}]}""");
        var state = Path.Combine(folder.Path, "node");
        using var keyed = new HttpClient();
        keyed.DefaultRequestHeaders.Add("X-Api-Key", key);

        await using (var data = StartDataNode(folder, nodeApi, nodeToken, state))
        {
            var (gateway, _, _) = await DataUrlsAsync(data);
            await RunRoleCommandTests.UntilOkAsync(keyed, gateway + "/hello"); // the first call of the day (before it: 404 or 401, not counted)
            using var second = await keyed.GetAsync(gateway + "/hello");
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            Assert.Equal(0, await data.StopAsync(TimeSpan.FromSeconds(30)));
        }

        Assert.True(File.Exists(Path.Combine(state, "quota-counts.db")));
        Assert.Equal(0, await control.StopAsync(TimeSpan.FromSeconds(30)));
        await control.DisposeAsync();
        await using var restarted = StartDataNode(folder, nodeApi, nodeToken, state);
        var (gateway2, _, _) = await DataUrlsAsync(restarted);
        using var third = await keyed.GetAsync(gateway2 + "/hello");
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        using var fourth = await keyed.GetAsync(gateway2 + "/hello");
        Assert.Equal(HttpStatusCode.TooManyRequests, fourth.StatusCode); // 3 a day: the two before the restart count
    }

    /// <summary>
    /// A hybrid data node's model calls reach the control plane's model-usage analytics (issue 22) through its usage journal,
    /// like its requests: the tokens the provider reported and their cost at the configured price, under the node's id.
    /// </summary>
    [Fact]
    [Trait("Issue", "22")]
    public async Task ModelUsage_OfAHybridNode_ReachesTheControlPlanesAnalytics_WithTokensAndCost()
    {
        using var folder = new TempFolder();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var provider = builder.Build();
        var answered = 0;
        // An OpenAI-compatible provider answering every chat with the same usage: 7 prompt and 5 completion tokens.
        provider.MapPost("/v1/chat/completions", (HttpContext context) =>
        {
            Interlocked.Increment(ref answered);
            return context.Response.WriteAsync("""{"id":"c1","object":"chat.completion","created":1,"model":"m-1","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":7,"completion_tokens":5,"total_tokens":12}}""");
        });
        await provider.StartAsync();
        var key = "ghk_hybrid-model-usage";
        var config = folder.Write("gatehouse.yaml", $$"""
            version: 1
            gateway:
              observability:
                usage: { flushInterval: 1s }
            services:
              llm:
                kind: ai
                ai:
                  providers:
                    local: { url: "{{provider.Urls.First()}}/v1" }
                  models:
                    fast: [ { provider: local, model: m-1, price: { prompt: 0.15, completion: 0.60 } } ]
            routes:
              ai: { path: "/v1/{**rest}", service: llm }
            plans:
              retail: { include: [{ route: ai }] }
            accounts:
              acme: {}
            applications:
              shop: { account: acme, plan: retail, keys: [{ sha256: {{Model.Access.ApiKeyHash.Sha256Hex(key)}} }] }
            """);
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder, importConfig: config);
        await using var _ = control;
        var nodeToken = await IssueNodeTokenAsync(admin, "edge-1");
        await using var data = StartDataNode(folder, nodeApi, nodeToken, Path.Combine(folder.Path, "node"), "edge-1");
        var (gateway, _, _) = await DataUrlsAsync(data);
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        const int Calls = 3;
        for (var i = 0; i < Calls; i++)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (true)
            {
                using var response = await client.PostAsync(gateway + "/v1/chat/completions",
                    new StringContent("""{"model":"fast","messages":[{"role":"user","content":"hi"}]}""", System.Text.Encoding.UTF8, "application/json"));
                if (response.StatusCode == HttpStatusCode.OK)
                {
                    break;
                }

                // Only before the node has its first config (404); anything else is a failure.
                Assert.True(response.StatusCode == HttpStatusCode.NotFound && DateTime.UtcNow < deadline, $"{(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                await Task.Delay(100);
            }
        }

        Assert.Equal(Calls, answered);
        using var adminClient = RunRoleCommandTests.AdminClient(admin, Token);
        var until = DateTime.UtcNow.AddSeconds(45);
        JsonNode? total = null;
        while (DateTime.UtcNow < until)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var answer = JsonNode.Parse(await adminClient.GetStringAsync($"/admin/analytics/ai?granularity=minute&groupBy=node,application,model&from={now - 3600}&to={now + 60}"))!;
            var series = answer["series"]!.AsArray();
            total = series.Count == 1 ? series[0] : null;
            if (total is not null && (long)total["total"]!["calls"]! == Calls)
            {
                break;
            }

            await Task.Delay(250);
        }

        Assert.True(total is not null, "the control plane has no model usage of the node after 45 s");
        Assert.Equal(("edge-1", "shop", "m-1"), ((string)total!["group"]!["node"]!, (string)total["group"]!["application"]!, (string)total["group"]!["model"]!));
        var sums = total["total"]!;
        // 7 × 0.15 + 5 × 0.60 per million tokens = 4,050 nano-units a call.
        Assert.Equal(((long)Calls, 7L * Calls, 5L * Calls, 4_050L * Calls), ((long)sums["calls"]!, (long)sums["promptTokens"]!, (long)sums["completionTokens"]!, (long)sums["costNanos"]!));
    }

    // The newest whole value of the application's day rows in the node's journal, summed over days.
    private static long JournalCount(string state)
    {
        var file = Path.Combine(state, "usage.journal");
        if (!File.Exists(file))
        {
            return 0;
        }

        var newest = new Dictionary<(long, int), long>();
        using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        while (reader.ReadLine() is { } line)
        {
            foreach (var row in Gatehouse.Model.Nodes.UsageUpload.Parse(line, "")?.Rows ?? [])
            {
                if (row.Granularity == Gatehouse.Model.Usage.UsageGranularity.Day && row.Key.Application == "shop")
                {
                    newest[(row.Bucket, row.Key.Status)] = row.Count;
                }
            }
        }

        return newest.Values.Sum();
    }

    internal static async Task UntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(45);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited 45 s for {what}");
            await Task.Delay(100);
        }
    }

    internal static async Task<string> KeyedRouteAsync(string admin, string backend, string plan = """{"include":[{"route":"hello"}]}""")
    {
        await PutRouteAsync(admin, "hello", backend, withService: true);
        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        foreach (var (path, body) in new[] { ("/admin/plans/retail", plan), ("/admin/accounts/acme", """{"title":"ACME"}"""), ("/admin/applications/shop", """{"account":"acme","plan":"retail"}""") })
        {
            using var put = await client.PutAsync(path, RunRoleCommandTests.Json(body));
            Assert.Equal(HttpStatusCode.Created, put.StatusCode);
        }

        using var made = await client.PostAsync("/admin/applications/shop/keys", RunRoleCommandTests.Json("{}"));
        Assert.Equal(HttpStatusCode.Created, made.StatusCode);
        return (string)JsonNode.Parse(await made.Content.ReadAsStringAsync())!["key"]!;
    }

    // The application's calls as the control plane's analytics count them, once the condition holds (bounded wait).
    internal static async Task<long> UsageCountAsync(string admin, Func<long, bool> until)
    {
        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        var deadline = DateTime.UtcNow.AddSeconds(45);
        long count = -1;
        while (DateTime.UtcNow < deadline)
        {
            var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            var answer = JsonNode.Parse(await client.GetStringAsync($"/admin/analytics?application=shop&granularity=minute&from={now - 3600}&to={now + 60}"))!;
            count = answer["series"]!.AsArray().Sum(series => (long)series!["total"]!["count"]!);
            if (until(count))
            {
                return count;
            }

            await Task.Delay(250);
        }

        Assert.Fail($"the control plane counts {count} calls of shop, not what was expected, after 45 s");
        return count;
    }

    [Fact]
    public async Task NodeApi_WithoutAValidNodeToken_Answers401Problem()
    {
        using var folder = new TempFolder();
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder);
        await using var _ = control;
        var issued = await IssueNodeTokenAsync(admin);
        using var client = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator });
        using var request = new HttpRequestMessage(HttpMethod.Get, nodeApi + "/node/v1/config?after=0");
        request.Headers.Add("Authorization", "Bearer ghn_not-a-token");
        request.Headers.Add("Gatehouse-Node", "x");
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("urn:gatehouse:problem:node-unauthorized", (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["type"]!);

        // A revoked token is refused the same way.
        using var adminClient = RunRoleCommandTests.AdminClient(admin, Token);
        using (var revoked = await adminClient.DeleteAsync("/admin/node-tokens/edge"))
        {
            Assert.Equal(HttpStatusCode.NoContent, revoked.StatusCode);
        }

        using var again = new HttpRequestMessage(HttpMethod.Get, nodeApi + "/node/v1/config?after=0");
        again.Headers.Add("Authorization", "Bearer " + issued);
        again.Headers.Add("Gatehouse-Node", "x");
        using var refused = await client.SendAsync(again);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }

    [Theory]
    [InlineData(new[] { "run", "--role", "data", "--control-plane", "https://127.0.0.1:1", "--control-plane-key", "k.pem" }, "A hybrid data node needs its node token: --node-token TOKEN or $GATEHOUSE_NODE_TOKEN (issue one with POST /admin/node-tokens on the control plane).")]
    [InlineData(new[] { "run", "--role", "data", "--control-plane", "https://127.0.0.1:1", "--node-token", "ghn_x" }, "A hybrid data node needs the control plane's public key: --control-plane-key FILE (the .pub.pem beside the control plane's --signing-key).")]
    [InlineData(new[] { "run", "--control-plane", "https://127.0.0.1:1", "--node-token", "ghn_x" }, "--control-plane is for --role data alone: a hybrid data node has no --store and no --config, it fetches its config.")]
    [InlineData(new[] { "run", "--role", "data", "--control-plane", "http://cp.example:8443", "--node-token", "ghn_x", "--control-plane-key", "k.pem" }, "--control-plane 'http://cp.example:8443' is http on a network: the node token would cross it in clear. Use https://.")]
    [InlineData(new[] { "run", "--store", "x.db", "--cluster-limits" }, "--cluster-limits is for a hybrid data node (--role data --control-plane URL); nodes with --store postgres://… share their engine already (docs/limits.md).")]
    public async Task HybridMistakes_AreOnePlainLine_AndExit2(string[] args, string line)
    {
        var (code, _, stderr) = await GatehouseProcess.RunAsync(args);
        Assert.Equal(2, code);
        Assert.Equal(line, stderr.Trim());
    }

    internal static async Task<(GatehouseProcess Control, string Admin, string NodeApi)> StartControlPlaneAsync(TempFolder folder, int nodeApiPort = 0, string? store = null, string? importConfig = null)
    {
        var (cert, key) = File.Exists(Path.Combine(folder.Path, "cp.crt")) ? (Path.Combine(folder.Path, "cp.crt"), Path.Combine(folder.Path, "cp.key")) : WriteCertificate(folder);
        var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = Token, ["GATEHOUSE_STORE_POLL_INTERVAL"] = "0.5" };
        string[] import = importConfig is null ? [] : ["--config", importConfig];
        var control = GatehouseProcess.Start(environment, ["run", "--role", "control", "--store", store ?? "sqlite:" + Path.Combine(folder.Path, "cp.db"), .. import,
            "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-api-url", $"https://127.0.0.1:{nodeApiPort}", "--node-api-cert", cert, "--node-api-key", key,
            "--signing-key", Path.Combine(folder.Path, "signing.pem")]);
        var nodeApi = await control.WaitForOutputAsync(NodeApiLine, TimeSpan.FromSeconds(60));
        var admin = ControlLine.Match(control.StandardOutput).Groups[1].Value;
        return (control, admin, nodeApi);
    }

    /// <param name="id">The node's <c>--node-id</c>; null starts it without one (its id is the one kept in its state folder).</param>
    internal static GatehouseProcess StartDataNode(TempFolder folder, string controlPlane, string nodeToken, string state, string? id = "edge-1", bool clusterLimits = false) =>
        GatehouseProcess.Start(new Dictionary<string, string> { ["GATEHOUSE_NODE_TOKEN"] = nodeToken }, ["run", "--role", "data", "--control-plane", controlPlane,
            "--control-plane-key", Path.Combine(folder.Path, "signing.pub.pem"), "--control-plane-ca", Path.Combine(folder.Path, "cp.crt"),
            "--state-dir", state, "--port", "0", "--admin-url", "http://127.0.0.1:0", .. (id is null ? (string[])[] : ["--node-id", id]),
            .. (clusterLimits ? (string[])["--cluster-limits"] : [])]);

    internal static async Task<(string Gateway, string Health, string Served)> DataUrlsAsync(GatehouseProcess data)
    {
        await data.WaitForOutputAsync(DataLine, TimeSpan.FromSeconds(60));
        var match = DataLine.Match(data.StandardOutput);
        return (match.Groups[1].Value.TrimEnd(','), match.Groups[3].Value, match.Groups[2].Value);
    }

    internal static async Task<string> IssueNodeTokenAsync(string admin, string name = "edge", string? node = null)
    {
        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        var body = new JsonObject { ["name"] = name };
        if (node is not null)
        {
            body["node"] = node;
        }

        using var issued = await client.PostAsync("/admin/node-tokens", RunRoleCommandTests.Json(body.ToJsonString()));
        Assert.Equal(HttpStatusCode.Created, issued.StatusCode);
        var token = (string)JsonNode.Parse(await issued.Content.ReadAsStringAsync())!["token"]!;
        Assert.StartsWith("ghn_", token, StringComparison.Ordinal);
        using var list = await client.GetAsync("/admin/node-tokens");
        var listed = await list.Content.ReadAsStringAsync();
        Assert.Contains($"\"{name}\"", listed, StringComparison.Ordinal);
        Assert.DoesNotContain(token, listed, StringComparison.Ordinal);
        return token;
    }

    internal static async Task PutRouteAsync(string admin, string name, string backend, bool withService = false)
    {
        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        if (withService)
        {
            using var service = await client.PutAsync("/admin/services/backend", RunRoleCommandTests.Json($$"""{"targets":["{{backend}}"]}"""));
            Assert.Equal(HttpStatusCode.Created, service.StatusCode);
        }

        using var route = await client.PutAsync("/admin/routes/" + name, RunRoleCommandTests.Json($$"""{"methods":["GET"],"path":"/{{name}}","service":"backend"}"""));
        Assert.Equal(HttpStatusCode.Created, route.StatusCode);
    }

    internal static async Task<JsonNode> NodeRowAsync(string admin, string id, Func<JsonNode, bool> until)
    {
        using var client = RunRoleCommandTests.AdminClient(admin, Token);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        JsonNode? row = null;
        while (DateTime.UtcNow < deadline)
        {
            row = JsonNode.Parse(await client.GetStringAsync("/admin/nodes"))!["items"]!.AsArray().FirstOrDefault(i => (string)i!["id"]! == id);
            if (row is not null && until(row))
            {
                return row;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"node {id} did not reach the expected state in 30 s; last row: {row?.ToJsonString() ?? "none"}");
        return null!;
    }

    private static (string Cert, string Key) WriteCertificate(TempFolder folder)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        san.AddDnsName("localhost");
        request.CertificateExtensions.Add(san.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        return (folder.Write("cp.crt", certificate.ExportCertificatePem()), folder.Write("cp.key", key.ExportPkcs8PrivateKeyPem()));
    }

    /// <summary>A man in the middle between a data node and the node API: passes everything (the node protocol's Gatehouse-* headers included), or tampers with config answers.</summary>
    internal sealed class TamperingProxy : IAsyncDisposable
    {
        private readonly WebApplication _app;
        private readonly HttpClient _upstream;
        private readonly ECDsa _otherKey = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        private byte[]? _first;

        private TamperingProxy(WebApplication app, HttpClient upstream, string url)
        {
            (_app, _upstream, Url) = (app, upstream, url);
        }

        public string Url { get; }

        public volatile string Mode = "none";

        /// <summary>Which answers <see cref="Mode"/> tampers with: the config's, or another path of the node API.</summary>
        public volatile string TamperedPath = "/node/v1/config";

        /// <summary>Usage uploads the control plane answered "applied" to (first time for that sequence).</summary>
        public int UsageApplied;

        /// <summary>Usage uploads the control plane answered as repeats (applied before).</summary>
        public int UsageRepeated;

        public static async Task<TamperingProxy> StartAsync(string nodeApi)
        {
            var upstream = new HttpClient(new HttpClientHandler { ServerCertificateCustomValidationCallback = HttpClientHandler.DangerousAcceptAnyServerCertificateValidator })
            {
                BaseAddress = new Uri(nodeApi),
                Timeout = Timeout.InfiniteTimeSpan,
            };
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var app = builder.Build();
            TamperingProxy? proxy = null;
            app.Run(context => proxy!.ForwardAsync(context));
            await app.StartAsync();
            proxy = new TamperingProxy(app, upstream, app.Urls.First());
            return proxy;
        }

        private async Task ForwardAsync(HttpContext context)
        {
            using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), context.Request.Path + context.Request.QueryString);
            request.Headers.TryAddWithoutValidation("Authorization", context.Request.Headers.Authorization.ToString());
            // Every header of the node protocol (Gatehouse-Node, Gatehouse-Node-Instance, and any the protocol adds), so a
            // node behind the proxy speaks the protocol it speaks to the node API directly.
            foreach (var header in context.Request.Headers.Where(h => h.Key.StartsWith("Gatehouse-", StringComparison.OrdinalIgnoreCase)))
            {
                request.Headers.TryAddWithoutValidation(header.Key, header.Value.ToArray());
            }

            if (HttpMethods.IsPost(context.Request.Method))
            {
                using var body = new MemoryStream();
                await context.Request.Body.CopyToAsync(body);
                request.Content = new ByteArrayContent(body.ToArray());
                request.Content.Headers.TryAddWithoutValidation("Content-Type", context.Request.ContentType);
            }

            using var response = await _upstream.SendAsync(request, context.RequestAborted);
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var header in response.Headers.Where(h => h.Key.StartsWith("Gatehouse-", StringComparison.Ordinal)))
            {
                context.Response.Headers[header.Key] = header.Value.ToArray();
            }

            var bytes = await response.Content.ReadAsByteArrayAsync();
            if (response.StatusCode == HttpStatusCode.OK && context.Request.Path == "/node/v1/usage")
            {
                Interlocked.Increment(ref (bool)JsonNode.Parse(bytes)!["applied"]! ? ref UsageApplied : ref UsageRepeated);
                if (Mode == "hold-usage")
                {
                    // The control plane has applied it; the node never hears so (it is killed while it waits).
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
            }

            if (response.StatusCode == HttpStatusCode.OK && context.Request.Path == TamperedPath)
            {
                _first ??= bytes;
                bytes = Tamper(bytes);
            }

            await context.Response.Body.WriteAsync(bytes);
        }

        private byte[] Tamper(byte[] envelope)
        {
            var root = JsonNode.Parse(envelope)!.AsObject();
            var payload = Convert.FromBase64String((string)root["payload"]!);
            switch (Mode)
            {
                case "flip":
                    // One byte of the signed document changes (a character of the config text), nothing else.
                    payload[payload.Length / 2] ^= 0x01;
                    root["payload"] = Convert.ToBase64String(payload);
                    return System.Text.Encoding.UTF8.GetBytes(root.ToJsonString());
                case "other-key":
                    root["signature"] = Convert.ToBase64String(_otherKey.SignData(payload, HashAlgorithmName.SHA256));
                    root["keyId"] = Convert.ToHexStringLower(SHA256.HashData(_otherKey.ExportSubjectPublicKeyInfo()));
                    return System.Text.Encoding.UTF8.GetBytes(root.ToJsonString());
                case "replay":
                    return _first!;
                default:
                    return envelope;
            }
        }

        public async ValueTask DisposeAsync()
        {
            await _app.DisposeAsync();
            _upstream.Dispose();
            _otherKey.Dispose();
        }
    }
}
