using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Management.Tests.Admin;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Gatehouse.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>
/// Issue #19: calls decided or reported through the service API (authrep, report) are usage too: they reach the
/// analytics with their application, plan, operation and status beside the proxied requests, exactly counted; reported
/// durations feed the latency, and untimed calls do not drag the mean down.
/// </summary>
[Trait("Issue", "19")]
public sealed class ServiceApiUsageTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 3, 1, 12, 0, 10, TimeSpan.Zero);
    private static readonly string ServiceToken = ApiKeyHash.NewKey("ghs_");
    private readonly string _folder = Directory.CreateTempSubdirectory("gatehouse-service-usage-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [Fact]
    public async Task AuthrepAndReportedCalls_AreInTheAnalytics_WithTheirStatus_AndReportedDurationsAreTheirLatency()
    {
        var connection = "sqlite:" + Path.Combine(_folder, "usage.db");
        var time = new FakeTime(Start);
        await using var scenario = await UsageScenario.StartAsync();
        var yaml = scenario.Yaml.Replace("gateway:\n", $"gateway:\n  serviceApi: {{ url: \"http://127.0.0.1:0\", tokenSha256: [ {ApiKeyHash.Sha256Hex(ServiceToken)} ] }}\n", StringComparison.Ordinal)
            .Replace("routes:\n", "routes:\n  raw: { path: \"/raw/{**rest}\", service: backend }\n", StringComparison.Ordinal);
        await using (var node = await UsageNode.StartAsync(connection, "node-a", yaml, time))
        {
            using var api = new HttpClient { BaseAddress = new Uri(node.Host.ServiceApiUrl!) };
            api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ServiceToken);
            async Task<JsonObject> PostAsync(string path, string body)
            {
                using var response = await api.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
                var text = await response.Content.ReadAsStringAsync();
                Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path}: {(int)response.StatusCode} {text}");
                return JsonNode.Parse(text)!.AsObject();
            }

            string Target(string key, string operation) => $$"""{"credential":{"apiKey":"{{key}}"},"operation":"{{operation}}"}""";
            for (var i = 0; i < 3; i++)
            {
                Assert.True((bool)(await PostAsync("/api/authrep", Target(UsageScenario.GoldKey, "items.get")))["allowed"]!);
            }

            for (var i = 0; i < 2; i++)
            {
                Assert.Equal("not_granted", (string?)(await PostAsync("/api/authrep", Target(UsageScenario.SilverKey, "items.fail")))["reason"]);
            }

            Assert.Equal("invalid_credential", (string?)(await PostAsync("/api/authrep", Target("ghk_nobody", "items.get")))["reason"]);

            // A call to a route bound to no operation counts under route:ID, as the proxy counts it.
            for (var i = 0; i < 2; i++)
            {
                Assert.True((bool)(await PostAsync("/api/authrep", $$"""{"credential":{"apiKey":"{{UsageScenario.GoldKey}}"},"route":"raw","method":"GET"}"""))["allowed"]!);
            }

            // authorize decides and counts nothing: no usage either.
            for (var i = 0; i < 4; i++)
            {
                Assert.True((bool)(await PostAsync("/api/authorize", Target(UsageScenario.GoldKey, "items.get")))["allowed"]!);
            }

            var report = await PostAsync("/api/report", $$"""
                {"usage":[
                  {"credential":{"apiKey":"{{UsageScenario.SilverKey}}"},"operation":"items.get","hits":10,"durationMs":12.5},
                  {"credential":{"apiKey":"{{UsageScenario.GoldKey}}"},"operation":"items.fail","hits":2,"status":503},
                  {"credential":{"apiKey":"{{UsageScenario.GoldKey}}"},"operation":"items.get","durationMs":40},
                  {"credential":{"apiKey":"{{UsageScenario.GoldKey}}"},"operation":"items.get","status":700},
                  {"credential":{"apiKey":"{{UsageScenario.GoldKey}}"},"operation":"items.get","durationMs":-1}
                ]}
                """);
            Assert.Equal(3, (int)report["accepted"]!);
            Assert.Equal(["3:bad_status", "4:bad_duration"], report["rejected"]!.AsArray().Select(r => $"{r!["index"]}:{r["reason"]}"));

            Assert.All(await node.SendAsync("/items/1", 5, UsageScenario.GoldKey), s => Assert.Equal(200, s));
            await node.FlushAsync();
        }

        await using var admin = await AdminHarness.StartAsync(connection, now: Start.AddMinutes(5));
        const string Range = "from=2026-03-01T11:59:00Z&to=2026-03-01T12:05:00Z&granularity=minute";
        var byApp = Series(await GetAsync(admin, $"/admin/analytics?{Range}&groupBy=application,status"));
        Assert.Equal(3 + 2 + 1 + 5, byApp["gold-app|200"]);
        Assert.Equal(2, byApp["silver-app|403"]);
        Assert.Equal(1, byApp["|401"]);
        Assert.Equal(10, byApp["silver-app|200"]);
        Assert.Equal(2, byApp["gold-app|503"]);
        Assert.Equal(3 + 2 + 2 + 1 + 10 + 2 + 1 + 5, byApp.Values.Sum());

        var byOperation = Series(await GetAsync(admin, $"/admin/analytics?{Range}&groupBy=operation,plan"));
        Assert.Equal(3 + 1 + 5, byOperation["items.get|gold"]);
        Assert.Equal(10, byOperation["items.get|silver"]);
        Assert.Equal(2, byOperation["items.fail|silver"]);
        Assert.Equal(2, byOperation["items.fail|gold"]);
        Assert.Equal(2, byOperation["route:raw|gold"]);

        // The reported durations are silver-app's latency, within the histogram's bound.
        var silver = Total(await GetAsync(admin, $"/admin/analytics?{Range}&application=silver-app&status=200"));
        Assert.Equal(10, (long)silver["count"]!);
        Assert.InRange((double)silver["p50Ms"]!, 12.5 / 1.0443, 12.5 * 1.0443);
        Assert.Equal(12.5, (double)silver["meanMs"]!, 3);

        // Untimed calls count but have no latency: 503s reported without a duration have none, and gold-app's five
        // untimed authreps leave the mean of its timed calls as it is: one reported at 40 ms and five proxied ones, which
        // the node's fake clock times at 0 ms. Over the timed six that is 6.667 ms; over all eleven it would be 3.636 ms.
        var untimed = Total(await GetAsync(admin, $"/admin/analytics?{Range}&application=gold-app&status=503"));
        Assert.Equal(2, (long)untimed["count"]!);
        Assert.Null(untimed["meanMs"]);
        Assert.Null(untimed["p50Ms"]);
        var gold = Total(await GetAsync(admin, $"/admin/analytics?{Range}&application=gold-app&status=200"));
        Assert.Equal(11, (long)gold["count"]!);
        Assert.Equal(40.0 / 6, (double)gold["meanMs"]!, 3);
        Assert.InRange((double)gold["p99Ms"]!, 40 / 1.0443, 40 * 1.0443);
    }

    /// <summary>
    /// A real service behind the <c>Gatehouse.Client</c> middleware: each call is in the analytics once, with what the
    /// service answered (not the authrep's 200) and how long it took, whether its decision came from an authrep or from
    /// the middleware's cache; a call the middleware refuses is recorded with the refusal's status by the authrep.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheClientMiddleware_ReportsWhatTheServiceAnswered_AndHowLongItTook_EachCallOnce(bool cached)
    {
        var connection = "sqlite:" + Path.Combine(_folder, "usage.db");
        var time = new FakeTime(Start);
        await using var scenario = await UsageScenario.StartAsync();
        var yaml = scenario.Yaml.Replace("gateway:\n", $"gateway:\n  serviceApi: {{ url: \"http://127.0.0.1:0\", tokenSha256: [ {ApiKeyHash.Sha256Hex(ServiceToken)} ] }}\n", StringComparison.Ordinal);
        await using (var node = await UsageNode.StartAsync(connection, "node-a", yaml, time))
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
            var service = builder.Build();
            service.UseGatehouseAuthorization(o =>
            {
                o.ServiceApiUrl = new Uri(node.Host.ServiceApiUrl!);
                o.ServiceToken = ServiceToken;
                o.OperationResolver = context => context.Request.Path.StartsWithSegments("/fail") ? "items.fail" : "items.get";
                o.CacheDuration = cached ? TimeSpan.FromMinutes(5) : TimeSpan.Zero;
                o.ReportInterval = TimeSpan.FromHours(1);
            });
            service.Run(async context =>
            {
                if (context.Request.Path.StartsWithSegments("/fail"))
                {
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    return;
                }

                await Task.Delay(30);
                await context.Response.WriteAsync("ok");
            });
            await service.StartAsync();
            using (var client = new HttpClient { BaseAddress = new Uri(service.Urls.First()) })
            {
                async Task<HttpStatusCode> CallAsync(string path, string key)
                {
                    using var request = new HttpRequestMessage(HttpMethod.Get, path);
                    request.Headers.Add("X-Api-Key", key);
                    using var response = await client.SendAsync(request);
                    return response.StatusCode;
                }

                for (var i = 0; i < 4; i++)
                {
                    Assert.Equal(HttpStatusCode.OK, await CallAsync("/items/1", UsageScenario.GoldKey));
                }

                for (var i = 0; i < 2; i++)
                {
                    Assert.Equal(HttpStatusCode.ServiceUnavailable, await CallAsync("/fail", UsageScenario.GoldKey));
                }

                Assert.Equal(HttpStatusCode.Forbidden, await CallAsync("/fail", UsageScenario.SilverKey));
            }

            // Stopping the service sends what its middleware holds; then the node writes its rollups.
            await service.StopAsync();
            await service.DisposeAsync();
            await node.FlushAsync();
        }

        await using var admin = await AdminHarness.StartAsync(connection, now: Start.AddMinutes(5));
        const string Range = "from=2026-03-01T11:59:00Z&to=2026-03-01T12:05:00Z&granularity=minute";
        var byApp = Series(await GetAsync(admin, $"/admin/analytics?{Range}&groupBy=application,status"));
        Assert.Equal(4, byApp["gold-app|200"]);
        Assert.Equal(2, byApp["gold-app|503"]);
        Assert.Equal(1, byApp["silver-app|403"]);
        Assert.Equal(7, byApp.Values.Sum());

        // The service's 30 ms are the latency (timed by the middleware, around the service alone).
        var gold = Total(await GetAsync(admin, $"/admin/analytics?{Range}&application=gold-app&status=200"));
        Assert.InRange((double)gold["p50Ms"]!, 30 / 1.0443, 1000);
        Assert.True((double)gold["meanMs"]! >= 30 / 1.0443, gold.ToJsonString());
        Assert.NotNull(Total(await GetAsync(admin, $"/admin/analytics?{Range}&application=gold-app&status=503"))["meanMs"]);
    }

    private static Task<JsonObject> GetAsync(AdminHarness admin, string path) => AnalyticsAnswers.GetAsync(admin, path);

    private static Dictionary<string, long> Series(JsonObject result) => AnalyticsAnswers.Series(result);

    private static JsonObject Total(JsonObject result) => Assert.Single(result["series"]!.AsArray())!["total"]!.AsObject();
}
