using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Limits across nodes as a user runs them (issue 21): two <c>gatehouse run --store postgres://…</c> processes on one
/// database and a daily quota of 10. The store is the counter engine and the quota is shared: the default lease of 10 a
/// day is 1, so exactly 10 get through, not 10 per node. (On one SQLite file there is no engine and each node would
/// count its own 10: docs/limits.md says why.)
/// </summary>
[Trait("Issue", "21")]
public sealed class RunStoreClusterLimitsTests(PostgresCluster postgres) : IClassFixture<PostgresCluster>
{
    private const string Key = "ghk_run-store-cluster-limits";
    private static readonly Regex Listening = new(@"listening on (http://\S+) \(store revision (\d+)\)");

    [Fact]
    public async Task TwoNodesOnOnePostgresStore_ShareADailyQuota_SoExactlyItGetsThrough()
    {
        var admitted = await RunTwoNodesAsync(await postgres.CreateDatabaseAsync(), requests: 30);

        Assert.Equal(10, admitted);
    }

    /// <summary>Starts two nodes on <paramref name="store"/> (the first imports the config), sends requests alternately; returns how many got 200.</summary>
    private static async Task<int> RunTwoNodesAsync(string store, int requests)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var backend = builder.Build();
        backend.Run(context => context.Response.WriteAsync("from the backend"));
        await backend.StartAsync();
        var file = Path.Combine(Path.GetTempPath(), "gatehouse-cluster-" + Guid.NewGuid().ToString("N")[..10] + ".yaml");
        await File.WriteAllTextAsync(file, $$"""
            version: 1
            services:
              backend: { targets: ["{{backend.Urls.First()}}"] }
            routes:
              hello: { methods: [GET], path: "/hello", service: backend }
            plans:
              daily: { include: [{ route: hello }], limits: [{ requests: 10, per: day }] }
            accounts:
              acme: {}
            applications:
              shop: { account: acme, plan: daily, keys: [{ sha256: {{Gatehouse.Model.Access.ApiKeyHash.Sha256Hex(Key)}} }] }
            """);
        try
        {
            var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = "gha_cluster-limits" };
            await using var one = GatehouseProcess.Start(environment, "run", "--store", store, "--config", file, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "one");
            await one.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
            await using var two = GatehouseProcess.Start(environment, "run", "--store", store, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "two");
            await two.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
            string[] gateways = [Listening.Match(one.StandardOutput).Groups[1].Value, Listening.Match(two.StandardOutput).Groups[1].Value];

            using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
            var admitted = 0;
            for (var i = 0; i < requests; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, gateways[i % 2] + "/hello");
                request.Headers.Add("X-Api-Key", Key);
                using var response = await client.SendAsync(request);
                Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"answered {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                admitted += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
            }

            return admitted;
        }
        finally
        {
            File.Delete(file);
        }
    }
}
