using System.Globalization;
using System.Net;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using static Gatehouse.Tests.Cli.RunRoleCommandTests;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Purges of the gateways' memory caches reach every node of a store (issue 23, docs/policies.md): an unsafe request's
/// invalidation on one data node drops the answer on the other, and a purge through a control plane's admin API (which
/// has no cache of its own) drops the answers on both data nodes. Three real processes on one SQLite store.
/// </summary>
[Trait("Issue", "23")]
public sealed class ClusterCachePurgeTests
{
    [Fact]
    public async Task AWriteOnOneNode_AndAPurgeOnTheControlPlane_DropTheAnswersOfEveryNode()
    {
        using var folder = new TempFolder();
        var version = 1;
        await using var backend = await StartVersionedBackendAsync(() => version, () => Interlocked.Increment(ref version));
        var store = "sqlite:" + Path.Combine(folder.Path, "gatehouse.db");
        var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = Token, ["GATEHOUSE_STORE_POLL_INTERVAL"] = "0.2" };
        await using var control = GatehouseProcess.Start(environment, "run", "--role", "control", "--store", store, "--port", FreePort().ToString(CultureInfo.InvariantCulture), "--admin-url", "http://127.0.0.1:0", "--no-portal");
        await control.WaitForOutputAsync(ControlLine, TimeSpan.FromSeconds(60));
        var admin = ControlLine.Match(control.StandardOutput).Groups[2].Value.TrimEnd(';');
        using (var client = AdminClient(admin))
        {
            using var service = await client.PutAsync("/admin/services/backend", RunRoleCommandTests.Json($$"""{"targets":["{{backend.Urls.First()}}"]}"""));
            Assert.Equal(HttpStatusCode.Created, service.StatusCode);
            using var read = await client.PutAsync("/admin/routes/items-get", RunRoleCommandTests.Json("""{"methods":["GET"],"path":"/items/{id}","service":"backend","policies":{"cache":{"ttl":"5m","shared":true}}}"""));
            Assert.Equal(HttpStatusCode.Created, read.StatusCode);
            using var write = await client.PutAsync("/admin/routes/items-post", RunRoleCommandTests.Json("""{"methods":["POST"],"path":"/items/{id}","service":"backend"}"""));
            Assert.Equal(HttpStatusCode.Created, write.StatusCode);
        }

        await using var one = GatehouseProcess.Start(environment, "run", "--role", "data", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--node-id", "data-1");
        await using var two = GatehouseProcess.Start(environment, "run", "--role", "data", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--node-id", "data-2");
        await one.WaitForOutputAsync(DataLine, TimeSpan.FromSeconds(60));
        await two.WaitForOutputAsync(DataLine, TimeSpan.FromSeconds(60));
        var first = DataLine.Match(one.StandardOutput).Groups[1].Value.TrimEnd(',');
        var second = DataLine.Match(two.StandardOutput).Groups[1].Value.TrimEnd(',');

        using var http = new HttpClient();
        await UntilOkAsync(http, first + "/items/7");
        await UntilOkAsync(http, second + "/items/7");
        Assert.Equal(("v1", "hit"), await GetAsync(http, first + "/items/7"));
        Assert.Equal(("v1", "hit"), await GetAsync(http, second + "/items/7"));

        // A write through the first node: it drops its own answer before answering, and the second drops its one soon after.
        using (var post = await http.PostAsync(first + "/items/7", null))
        {
            Assert.Equal(HttpStatusCode.OK, post.StatusCode);
        }

        Assert.Equal("v2", (await GetAsync(http, first + "/items/7")).Body);
        await UntilAsync(async () => (await GetAsync(http, second + "/items/7")).Body == "v2", "the second node still serves the answer the first node's write outdated");

        // A change behind the gateways' backs: both keep serving what they hold, until a purge through the control plane.
        Interlocked.Increment(ref version);
        Assert.Equal(("v2", "hit"), await GetAsync(http, first + "/items/7"));
        Assert.Equal(("v2", "hit"), await GetAsync(http, second + "/items/7"));
        using (var client = AdminClient(admin))
        using (var purge = await client.PostAsync("/admin/cache/purge", RunRoleCommandTests.Json("""{"route":"items-get"}""")))
        {
            Assert.Equal(HttpStatusCode.OK, purge.StatusCode);
            // No cache on the control plane to count in: the data nodes drop theirs.
            var answer = System.Text.Json.Nodes.JsonNode.Parse(await purge.Content.ReadAsStringAsync())!.AsObject();
            Assert.True(answer.ContainsKey("purged"));
            Assert.Null(answer["purged"]);
        }

        await UntilAsync(async () => (await GetAsync(http, first + "/items/7")).Body == "v3", "the first node still serves what the control plane purged");
        await UntilAsync(async () => (await GetAsync(http, second + "/items/7")).Body == "v3", "the second node still serves what the control plane purged");
    }

    internal static async Task<(string Body, string? Cache)> GetAsync(HttpClient http, string url)
    {
        using var response = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadAsStringAsync(), response.Headers.TryGetValues("Gatehouse-Cache", out var values) ? values.Single() : null);
    }

    internal static async Task UntilAsync(Func<Task<bool>> done, string failure)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!await done())
        {
            Assert.True(DateTime.UtcNow < deadline, failure + " after 15 s");
            await Task.Delay(50);
        }
    }

    internal static async Task<WebApplication> StartVersionedBackendAsync(Func<int> current, Action bump)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(context =>
        {
            if (HttpMethods.IsPost(context.Request.Method))
            {
                bump();
            }

            return context.Response.WriteAsync("v" + current().ToString(CultureInfo.InvariantCulture));
        });
        await app.StartAsync();
        return app;
    }
}
