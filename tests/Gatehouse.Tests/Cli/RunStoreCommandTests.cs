using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Cli;

/// <summary><c>gatehouse run --store</c>: import into an empty store, serve it, change it through the admin API, keep it across restarts.</summary>
public sealed class RunStoreCommandTests
{
    [Fact]
    public async Task RunStore_ImportsTheFile_AcceptsChangesThroughTheAdminApi_AndKeepsThemAcrossARestart()
    {
        var folder = Path.Combine(Path.GetTempPath(), "gatehouse-run-store-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(folder);
        try
        {
            await using var backend = await StartBackendAsync();
            var file = Path.Combine(folder, "gatehouse.yaml");
            await File.WriteAllTextAsync(file, $"""
                version: 1
                services:
                  backend: {"{"} targets: ["{backend.Urls.First()}"] {"}"}
                routes:
                  hello: {"{"} methods: [GET], path: "/hello", service: backend {"}"}
                """);
            var store = "sqlite:" + Path.Combine(folder, "gatehouse.db");
            var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = "" };
            var listening = new Regex(@"listening on (http://\S+) \(store revision (\d+)\); admin API on (http://[^\s]+)\. ");

            string token;
            await using (var first = GatehouseProcess.Start(environment, "run", "--store", store, "--config", file, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0"))
            {
                token = await first.WaitForOutputAsync(new Regex(@"Admin token \(shown once; only its hash is kept\): (gha_\S+)"), TimeSpan.FromSeconds(60));
                var (gateway, admin) = Urls(listening.Match(first.StandardOutput));
                Assert.Contains("as revision 1.", first.StandardOutput, StringComparison.Ordinal);
                using var client = AdminClient(admin, token);
                using var put = await client.PutAsync("/admin/routes/bye", new StringContent("""{"methods":["GET"],"path":"/bye","service":"backend"}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
                using var plain = new HttpClient();
                Assert.Equal("from the backend", await plain.GetStringAsync(gateway + "/bye"));
            }

            await using var second = GatehouseProcess.Start(environment, "run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0");
            await second.WaitForOutputAsync(listening, TimeSpan.FromSeconds(60));
            var match = listening.Match(second.StandardOutput);
            Assert.Equal("2", match.Groups[2].Value);
            Assert.DoesNotContain("Admin token", second.StandardOutput, StringComparison.Ordinal);
            var (gateway2, admin2) = Urls(match);
            using var again = AdminClient(admin2, token);
            using var list = await again.GetAsync("/admin/routes");
            Assert.Equal(HttpStatusCode.OK, list.StatusCode);
            using var plain2 = new HttpClient();
            Assert.Equal("from the backend", await plain2.GetStringAsync(gateway2 + "/bye"));
            Assert.Equal("from the backend", await plain2.GetStringAsync(gateway2 + "/hello"));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task RunStore_TwoNodesOnOneStore_EachServesWhatTheOtherCommits()
    {
        var folder = Path.Combine(Path.GetTempPath(), "gatehouse-run-two-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(folder);
        try
        {
            await using var backend = await StartBackendAsync();
            var store = "sqlite:" + Path.Combine(folder, "gatehouse.db");
            var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = "gha_two-nodes" };
            var listening = new Regex(@"listening on (http://\S+) \(store revision (\d+)\); admin API on (http://[^\s]+)\. ");
            await using var one = GatehouseProcess.Start(environment, "run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0", "--node-id", "one");
            await using var two = GatehouseProcess.Start(environment, "run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0", "--node-id", "two");
            await one.WaitForOutputAsync(listening, TimeSpan.FromSeconds(60));
            await two.WaitForOutputAsync(listening, TimeSpan.FromSeconds(60));
            var (gatewayOne, adminOne) = Urls(listening.Match(one.StandardOutput));
            var (gatewayTwo, adminTwo) = Urls(listening.Match(two.StandardOutput));

            using (var client = AdminClient(adminOne, "gha_two-nodes"))
            {
                using var service = await client.PutAsync("/admin/services/backend", new StringContent($$"""{"targets":["{{backend.Urls.First()}}"]}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.Created, service.StatusCode);
                using var route = await client.PutAsync("/admin/routes/hello", new StringContent("""{"methods":["GET"],"path":"/hello","service":"backend"}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.Created, route.StatusCode);
            }

            using var plain = new HttpClient();
            Assert.Equal("from the backend", await plain.GetStringAsync(gatewayOne + "/hello"));
            await UntilOkAsync(plain, gatewayTwo + "/hello");

            using (var client = AdminClient(adminTwo, "gha_two-nodes"))
            {
                using var route = await client.PutAsync("/admin/routes/bye", new StringContent("""{"methods":["GET"],"path":"/bye","service":"backend"}""", Encoding.UTF8, "application/json"));
                Assert.Equal(HttpStatusCode.Created, route.StatusCode);
            }

            await UntilOkAsync(plain, gatewayOne + "/bye");
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    // Bounded: a node polls the store every 2 s, so a change made elsewhere is served within a few seconds.
    private static async Task UntilOkAsync(HttpClient client, string url)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await client.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{url} still answers {(int)response.StatusCode} after 30 s");
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task RunStore_WithNodeId_ReportsItselfWithTheRevisionItServes()
    {
        var folder = Path.Combine(Path.GetTempPath(), "gatehouse-run-node-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(folder);
        try
        {
            var store = "sqlite:" + Path.Combine(folder, "gatehouse.db");
            var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = "gha_node-test" };
            var listening = new Regex(@"listening on (http://\S+) \(store revision (\d+)\); admin API on (http://[^\s]+)\. ");
            await using var run = GatehouseProcess.Start(environment, "run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0", "--node-id", "gw-test");
            await run.WaitForOutputAsync(new Regex(@"as node (gw-test) "), TimeSpan.FromSeconds(60));
            var (_, admin) = Urls(listening.Match(run.StandardOutput));
            using var client = AdminClient(admin, "gha_node-test");
            using (var put = await client.PutAsync("/admin/services/users", new StringContent("""{"targets":["http://127.0.0.1:9"]}""", Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }

            // The report is made off the admin request's path, so wait (bounded) for it.
            System.Text.Json.Nodes.JsonNode? item;
            var deadline = DateTime.UtcNow.AddSeconds(10);
            while (true)
            {
                item = System.Text.Json.Nodes.JsonNode.Parse(await client.GetStringAsync("/admin/nodes"))!["items"]!.AsArray().SingleOrDefault();
                if ((item is not null && (long)item["revision"]! == 1) || DateTime.UtcNow > deadline)
                {
                    break;
                }

                await Task.Delay(50);
            }

            Assert.NotNull(item);
            Assert.Equal("gw-test", (string)item["id"]!);
            Assert.Equal(1, (long)item["revision"]!);
            Assert.False((bool)item["stale"]!);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [Fact]
    public async Task RunStore_AnInstanceThatRegistersItself_IsServedWhenThePutAnswers_AndGoneWhenItDeregisters()
    {
        // Issue #5: the process wires a registration follower between the store and its gateway.
        var folder = Path.Combine(Path.GetTempPath(), "gatehouse-run-reg-" + Guid.NewGuid().ToString("N")[..10]);
        Directory.CreateDirectory(folder);
        try
        {
            await using var backend = await StartBackendAsync();
            var store = "sqlite:" + Path.Combine(folder, "gatehouse.db");
            var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = "gha_registration-test" };
            var listening = new Regex(@"listening on (http://\S+) \(store revision (\d+)\); admin API on (http://[^\s]+)\. ");
            await using var run = GatehouseProcess.Start(environment, "run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0");
            await run.WaitForOutputAsync(listening, TimeSpan.FromSeconds(60));
            var (gateway, admin) = Urls(listening.Match(run.StandardOutput));
            using var client = AdminClient(admin, "gha_registration-test");
            var tokenHash = Gatehouse.Model.Access.ApiKeyHash.Sha256Hex("ghr_instance-token");
            using (var put = await client.PutAsync("/admin/services/users", new StringContent($$$"""{"registration":{"tokenSha256":"{{{tokenHash}}}"}}""", Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }

            using (var put = await client.PutAsync("/admin/routes/hello", new StringContent("""{"methods":["GET"],"path":"/hello","service":"users"}""", Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.Created, put.StatusCode);
            }

            using var plain = new HttpClient();
            using (var before = await plain.GetAsync(gateway + "/hello"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, before.StatusCode);
            }

            using var instance = AdminClient(admin, "ghr_instance-token");
            var url = backend.Urls.First();
            using (var registered = await instance.PutAsync("/admin/services/users/registrations", new StringContent($$"""{"url":"{{url}}"}""", Encoding.UTF8, "application/json")))
            {
                Assert.Equal(HttpStatusCode.OK, registered.StatusCode);
            }

            Assert.Equal("from the backend", await plain.GetStringAsync(gateway + "/hello"));

            using (var deleted = await instance.DeleteAsync($"/admin/services/users/registrations?url={Uri.EscapeDataString(url)}"))
            {
                Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
            }

            using var after = await plain.GetAsync(gateway + "/hello");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, after.StatusCode);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static (string Gateway, string Admin) Urls(Match match)
    {
        Assert.True(match.Success);
        return (match.Groups[1].Value.TrimEnd(','), match.Groups[3].Value);
    }

    private static HttpClient AdminClient(string url, string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    private static async Task<WebApplication> StartBackendAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync("from the backend"));
        await app.StartAsync();
        return app;
    }
}
