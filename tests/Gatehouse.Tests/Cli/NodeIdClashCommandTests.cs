using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Usage;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Two <c>gatehouse run --store</c> processes under one <c>--node-id</c> (issue 19: a cluster's usage totals are sums over
/// nodes, and each node writes whole values of its own rows): the second is refused at start with one line, a node
/// restarted in place after a crash is not, and a node whose id another process took while it ran stops writing usage
/// and says so in its log and in GET /admin/nodes. Real processes on one SQLite file.
/// </summary>
[Trait("Issue", "19")]
public sealed class NodeIdClashCommandTests
{
    private const string Token = "gha_clash-test";
    private static readonly Regex Listening = new(@"listening on (http://\S+) \(store revision (\d+)\); admin API on (http://[^\s]+)\. ");

    [Fact]
    public async Task SecondNodeUnderALiveNodesId_IsRefusedWithOneLine_ACrashedOneRestartedInPlace_IsNot()
    {
        var folder = Directory.CreateTempSubdirectory("gatehouse-clash-").FullName;
        try
        {
            var store = "sqlite:" + Path.Combine(folder, "gatehouse.db");
            var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = Token };
            string[] run = ["run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "gw-1"];
            await using var first = GatehouseProcess.Start(environment, run);
            await first.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));

            var (exit, _, stderr) = await GatehouseProcess.RunAsync(environment, run);

            Assert.Equal(2, exit);
            Assert.Matches(
                "^" + Regex.Escape($"Node id 'gw-1' is in use by another running gateway node (host {Environment.MachineName}, pid {first.Id}, last seen ") + @"\d+"
                + Regex.Escape(" s ago), and two nodes under one id would overwrite each other's usage counts. Give this node an id of its own with --node-id (or stop the other one first).") + "$",
                stderr.Trim());

            // Killed: its row is still fresh, but its pid on this host has ended, so the restart does not wait.
            first.Signal(9);
            await first.WaitForExitAsync(TimeSpan.FromSeconds(30));
            await using var restarted = GatehouseProcess.Start(environment, run);
            await restarted.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
            Assert.DoesNotContain("waiting", restarted.StandardError, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task NodeWhoseIdAnotherProcessTakes_StopsWritingUsage_LogsItOnce_AndTheNodesListShowsTheClash()
    {
        var folder = Directory.CreateTempSubdirectory("gatehouse-clash-").FullName;
        try
        {
            await using var backend = await RunRoleCommandTests.StartBackendAsync();
            var file = Path.Combine(folder, "gatehouse.db");
            var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = Token };
            await using var node = GatehouseProcess.Start(environment, "run", "--store", "sqlite:" + file, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "gw-1");
            await node.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
            var match = Listening.Match(node.StandardOutput);
            var (gateway, admin) = (match.Groups[1].Value, match.Groups[3].Value);
            using var client = new HttpClient { BaseAddress = new Uri(admin) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
            using (var service = await client.PutAsync("/admin/services/backend", new StringContent($$"""{"targets":["{{backend.Urls.First()}}"]}""", Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.Created, service.StatusCode);
            }

            using (var route = await client.PutAsync("/admin/routes/hello", new StringContent("""{"methods":["GET"],"path":"/hello","service":"backend"}""", Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.Created, route.StatusCode);
            }

            using var plain = new HttpClient();
            await using var store = await ConfigStores.OpenAsync("sqlite:" + file, TimeProvider.System);
            var usage = (IUsageStore)store;
            await SendUntilCountedAsync(plain, gateway + "/hello", usage);

            // Another process takes gw-1 (as one that started while this node could not reach the store would).
            Assert.Null(await store.ClaimNodeAsync("gw-1", "intruder", 1, """{"host":"elsewhere","pid":7}""", DateTimeOffset.UtcNow, DateTimeOffset.MaxValue));
            await SendAsync(plain, gateway + "/hello", 20);
            // The next flush (5 s) or heartbeat (15 s) finds the id taken.
            await node.WaitForOutputAsync(new Regex("Node id 'gw-1' is in use by another running gateway node \\(host elsewhere, pid 7"), TimeSpan.FromSeconds(30));
            var counted = await CountAsync(usage);
            await SendAsync(plain, gateway + "/hello", 20);

            JsonObject? item = null;
            for (var deadline = DateTime.UtcNow.AddSeconds(40); DateTime.UtcNow < deadline; await Task.Delay(250))
            {
                item = JsonNode.Parse(await client.GetStringAsync("/admin/nodes"))!["items"]!.AsArray().Single()!.AsObject();
                if (item["clash"] is not null)
                {
                    break;
                }
            }

            Assert.Equal("intruder", (string?)item!["instance"]);
            Assert.Equal(node.Id, (int)item["clash"]!["pid"]!);
            // Nothing this node counted after the take-over reaches the store, through more than one flush (5 s).
            for (var until = DateTime.UtcNow.AddSeconds(7); DateTime.UtcNow < until; await Task.Delay(500))
            {
                Assert.Equal(counted, await CountAsync(usage));
            }

            Assert.Single(Regex.Matches(node.StandardOutput + node.StandardError, "writes no usage rows until it is restarted"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task SendAsync(HttpClient plain, string url, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await plain.GetAsync(url);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    private static async Task<long> CountAsync(IUsageStore usage) =>
        (await usage.ReadUsageAsync(new UsageRowQuery(UsageGranularity.Minute, 0, long.MaxValue, AllApplications: true))).Where(r => r.Node == "gw-1").Sum(r => r.Count);

    private static async Task SendUntilCountedAsync(HttpClient plain, string url, IUsageStore usage)
    {
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline; await Task.Delay(250))
        {
            using var response = await plain.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.OK && await CountAsync(usage) > 0)
            {
                return;
            }
        }

        Assert.Fail("the node's usage never reached the store");
    }
}
