using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Model.Access;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Two <c>gatehouse run --store</c> processes on one store: the analytics API counts every request exactly, /metrics of the
/// two nodes add up to the same number, and a node stopped gracefully (SIGTERM) writes what it held before it exits.
/// </summary>
[Trait("Issue", "19")]
public sealed class UsageCommandTests
{
    private static readonly Regex Listening = new(@"listening on (http://\S+) \(store revision \d+\); admin API on (http://[^\s]+)\. ");

    [Fact]
    public async Task TwoNodes_AndAGracefulRestart_AnalyticsAndMetricsCountEveryRequest()
    {
        var folder = Directory.CreateTempSubdirectory("gatehouse-usage-cli-").FullName;
        try
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            await using var backend = builder.Build();
            backend.MapGet("/hello", (HttpContext c) => c.Response.WriteAsync("hello"));
            await backend.StartAsync();
            var key = ApiKeyHash.NewKey();
            var file = Path.Combine(folder, "gatehouse.yaml");
            await File.WriteAllTextAsync(file, $$"""
                version: 1
                gateway:
                  observability:
                    usage: { flushInterval: 1s }
                services:
                  backend: { targets: ["{{backend.Urls.First()}}"] }
                routes:
                  hello: { methods: [GET], path: /hello, service: backend }
                plans:
                  gold: { include: [ { route: hello } ] }
                accounts: { acme: {} }
                applications:
                  shop: { account: acme, plan: gold, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(key)}} } ] }
                """);
            var store = "sqlite:" + Path.Combine(folder, "gatehouse.db");
            const string token = "gha_usage-cli-test";
            var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = token };
            var from = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds();

            var one = GatehouseProcess.Start(environment, "run", "--store", store, "--config", file, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "one");
            // The second node starts once the first has imported the file: before that the store has no revision for it to serve.
            string gateway1, admin1;
            try
            {
                (gateway1, admin1) = await UrlsAsync(one);
            }
            catch
            {
                await one.DisposeAsync();
                throw;
            }

            await using var two = GatehouseProcess.Start(environment, "run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "two");
            string admin2;
            try
            {
                var (gateway2, admin) = await UrlsAsync(two);
                admin2 = admin;
                await SendAsync(gateway1, key, 30);
                await SendAsync(gateway2, key, 20);

                // Each process's /metrics counts its own requests since it started: together, every request once.
                var metrics1 = await RouteCountAsync(admin1, token);
                var metrics2 = await RouteCountAsync(admin2, token);
                Assert.Equal(30, metrics1);
                Assert.Equal(20, metrics2);
                await SendAsync(gateway1, key, 7);
                Assert.Equal(0, await one.StopAsync(TimeSpan.FromSeconds(30)));
            }
            finally
            {
                await one.DisposeAsync();
            }

            await using (var again = GatehouseProcess.Start(environment, "run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "one"))
            {
                var (gatewayAgain, _) = await UrlsAsync(again);
                await SendAsync(gatewayAgain, key, 5);
                Assert.Equal(0, await again.StopAsync(TimeSpan.FromSeconds(30)));
            }

            var to = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds();
            using var client = Client(admin2, token);
            var deadline = DateTime.UtcNow.AddSeconds(30);
            JsonNode result;
            long total;
            do
            {
                // Node two writes every second (flushInterval: 1s); node one wrote all it had when it stopped.
                await Task.Delay(250);
                result = JsonNode.Parse(await client.GetStringAsync($"/admin/analytics?from={from}&to={to}&granularity=minute&groupBy=application,statusClass,node"))!;
                total = result["series"]!.AsArray().Sum(s => (long)s!["total"]!["count"]!);
            }
            while (total < 62 && DateTime.UtcNow < deadline);

            var series = result["series"]!.AsArray().ToDictionary(s => $"{s!["group"]!["application"]}|{s["group"]!["statusClass"]}|{s["group"]!["node"]}", s => (long)s!["total"]!["count"]!);
            Assert.Equal(new Dictionary<string, long> { ["shop|2xx|one"] = 42, ["shop|2xx|two"] = 20 }, series);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static async Task<(string Gateway, string Admin)> UrlsAsync(GatehouseProcess process)
    {
        await process.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        var match = Listening.Match(process.StandardOutput);
        return (match.Groups[1].Value.TrimEnd(','), match.Groups[2].Value);
    }

    private static async Task SendAsync(string gateway, string key, int count)
    {
        using var client = new HttpClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal("hello", await client.GetStringAsync(gateway + "/hello"));
        }
    }

    private static async Task<double> RouteCountAsync(string admin, string token)
    {
        using var client = Client(admin, token);
        var text = await client.GetStringAsync("/metrics");
        var match = Regex.Match(text, "^http_server_request_duration_seconds_count\\{[^}]*http_route=\"/hello\"[^}]*\\} (\\d+)$", RegexOptions.Multiline);
        Assert.True(match.Success, text);
        Assert.DoesNotContain("application", Regex.Match(text, "^http_server_request_duration_seconds_count.*$", RegexOptions.Multiline).Value, StringComparison.Ordinal);
        return double.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
    }

    private static HttpClient Client(string admin, string token)
    {
        var client = new HttpClient { BaseAddress = new Uri(admin) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return client;
    }
}
