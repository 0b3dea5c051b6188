using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Cli;

/// <summary><c>gatehouse run --role both|control|data</c> (issue 21): one binary, the parts each role runs, and only those.</summary>
[Trait("Issue", "21")]
public sealed class RunRoleCommandTests
{
    internal const string Token = "gha_roles-test";
    internal static readonly Regex ControlLine = new(@"Gatehouse control plane \(store revision (\d+)\): admin API on (http://\S+); no public listener");
    internal static readonly Regex DataLine = new(@"Gatehouse data node is listening on (http://\S+) \(store revision \d+; /ready and /live on (http://[^\s)]+)\)");

    [Fact]
    public async Task ControlAndData_OnOneStore_ControlHasNoPublicListener_DataHasNoAdminApi_AndServesWhatControlCommits()
    {
        using var folder = new TempFolder();
        await using var backend = await StartBackendAsync();
        var store = "sqlite:" + Path.Combine(folder.Path, "gatehouse.db");
        var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = Token, ["GATEHOUSE_STORE_POLL_INTERVAL"] = "0.2" };
        var publicPort = FreePort();
        await using var control = GatehouseProcess.Start(environment, "run", "--role", "control", "--store", store, "--port", publicPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--admin-url", "http://127.0.0.1:0", "--portal-url", "http://127.0.0.1:0");
        await control.WaitForOutputAsync(ControlLine, TimeSpan.FromSeconds(60));
        var admin = ControlLine.Match(control.StandardOutput).Groups[2].Value.TrimEnd(';');
        await using var data = GatehouseProcess.Start(environment, "run", "--role", "data", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--node-id", "data-1");
        await data.WaitForOutputAsync(DataLine, TimeSpan.FromSeconds(60));
        var match = DataLine.Match(data.StandardOutput);
        var (gateway, health) = (match.Groups[1].Value.TrimEnd(','), match.Groups[2].Value);

        using (var client = AdminClient(admin))
        {
            using var service = await client.PutAsync("/admin/services/backend", Json($$"""{"targets":["{{backend.Urls.First()}}"]}"""));
            Assert.Equal(HttpStatusCode.Created, service.StatusCode);
            using var route = await client.PutAsync("/admin/routes/hello", Json("""{"methods":["GET"],"path":"/hello","service":"backend"}"""));
            Assert.Equal(HttpStatusCode.Created, route.StatusCode);
        }

        using var plain = new HttpClient();
        await UntilOkAsync(plain, gateway + "/hello");
        Assert.Equal("from the backend", await plain.GetStringAsync(gateway + "/hello"));

        // The control plane serves no public traffic: nothing listens on the port it was given.
        await Assert.ThrowsAsync<HttpRequestException>(() => plain.GetAsync($"http://127.0.0.1:{publicPort}/hello"));
        // The data node has no admin API: its only side listener answers /ready and /live, nothing else.
        using (var ready = await plain.GetAsync(health + "/ready"))
        {
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        }

        using (var adminOnData = await plain.GetAsync(health + "/admin/routes"))
        {
            Assert.Equal(HttpStatusCode.NotFound, adminOnData.StatusCode);
        }

        // The nodes list shows the data node (with the revision it serves), not the control plane.
        using (var client = AdminClient(admin))
        {
            JsonArray items = [];
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline)
            {
                items = JsonNode.Parse(await client.GetStringAsync("/admin/nodes"))!["items"]!.AsArray();
                if (items.Any(i => (string)i!["id"]! == "data-1" && (long)i["revision"]! == 2))
                {
                    break;
                }

                await Task.Delay(100);
            }

            var only = Assert.Single(items);
            Assert.Equal("data-1", (string)only!["id"]!);
            Assert.Equal(2, (long)only["revision"]!);
        }

        // No gateway to drain on the control plane: SIGTERM still stops it cleanly.
        Assert.Equal(0, await control.StopAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData(new[] { "run", "--role", "edge", "--store", "x.db" }, "--role 'edge' is not a role: write both (the default), control or data.")]
    [InlineData(new[] { "run", "--role", "control", "--config", "gatehouse.yaml" }, "--role control serves the admin API of a store: give --store CONNECTION (a config file alone has no admin API).")]
    [InlineData(new[] { "run", "--store", "x.db", "--state-dir", "state" }, "--state-dir is for a node without a store (--config FILE, or --control-plane URL); with --store the quota counts are kept in the store.")]
    public async Task BadRole_IsOnePlainLine_AndExit2(string[] args, string line)
    {
        var (code, _, stderr) = await GatehouseProcess.RunAsync(args);
        Assert.Equal(2, code);
        Assert.Equal(line, stderr.Trim());
    }

    [Fact]
    public async Task BadPollInterval_IsOnePlainLine_AndExit2()
    {
        var (code, _, stderr) = await GatehouseProcess.RunAsync(new Dictionary<string, string> { ["GATEHOUSE_STORE_POLL_INTERVAL"] = "soon" }, "run", "--store", "x.db");
        Assert.Equal(2, code);
        Assert.Equal("GATEHOUSE_STORE_POLL_INTERVAL must be a number of seconds from 0.05 to 3600 (default 2), not 'soon'.", stderr.Trim());
    }

    internal static int FreePort() => Gatehouse.Gateway.Tests.Infrastructure.FreePorts.Tcp();

    internal static StringContent Json(string body) => new(body, Encoding.UTF8, "application/json");

    internal static HttpClient AdminClient(string url, string token = Token)
    {
        var client = new HttpClient { BaseAddress = new Uri(url) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }

    internal static async Task UntilOkAsync(HttpClient client, string url, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            using var response = await client.GetAsync(url);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return;
            }

            Assert.True(DateTime.UtcNow < deadline, $"{url} still answers {(int)response.StatusCode} after {seconds} s");
            await Task.Delay(20);
        }
    }

    internal static async Task<WebApplication> StartBackendAsync()
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
