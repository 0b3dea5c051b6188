using System.Net;
using System.Text.RegularExpressions;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Tests.Infrastructure;
using Npgsql;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Two <c>gatehouse run --store postgres://…</c> processes on one database (issue 21's contract): a route PUT on one is
/// served by the other. Polling is set to an hour here, so only the commit's NOTIFY can carry the change in time;
/// how fast it arrives is measured in bench/ (docs/benchmarks.md), not asserted.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Issue", "21")]
public sealed class PostgresNodesCommandTests(PostgresCluster cluster)
{
    private static readonly Regex Listening = new(@"listening on (http://\S+) \(store revision (\d+)\); admin API on (http://[^\s]+)\. ");

    [Fact]
    public async Task TwoNodesOnOnePostgres_ARoutePutOnOne_IsServedByTheOther_ByNotifyAlone()
    {
        var connection = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync());
        var url = $"postgres://{connection.Username}@{connection.Host}:{connection.Port}/{connection.Database}";
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = "gha_roles-test", ["GATEHOUSE_STORE_POLL_INTERVAL"] = "3600" };
        await using var one = GatehouseProcess.Start(environment, "run", "--store", url, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "one");
        await using var two = GatehouseProcess.Start(environment, "run", "--store", url, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "two");
        await one.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        await two.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        var adminOne = Listening.Match(one.StandardOutput).Groups[3].Value;
        var gatewayTwo = Listening.Match(two.StandardOutput).Groups[1].Value.TrimEnd(',');
        // Both LISTEN before anything is committed (bounded wait on what PostgreSQL reports).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (await ListenersAsync(connection.ConnectionString) < 2)
        {
            Assert.True(DateTime.UtcNow < deadline, "the two nodes' LISTEN connections did not appear");
            await Task.Delay(100);
        }

        using var admin = RunRoleCommandTests.AdminClient(adminOne);
        using (var service = await admin.PutAsync("/admin/services/backend", RunRoleCommandTests.Json($$"""{"targets":["{{backend.Urls.First()}}"]}""")))
        {
            Assert.Equal(HttpStatusCode.Created, service.StatusCode);
        }

        using (var route = await admin.PutAsync("/admin/routes/hello", RunRoleCommandTests.Json("""{"methods":["GET"],"path":"/hello","service":"backend"}""")))
        {
            Assert.Equal(HttpStatusCode.Created, route.StatusCode);
        }

        using var plain = new HttpClient();
        await RunRoleCommandTests.UntilOkAsync(plain, gatewayTwo + "/hello", seconds: 20);
        Assert.Equal("from the backend", await plain.GetStringAsync(gatewayTwo + "/hello"));
    }

    /// <summary>
    /// PostgreSQL goes away under two nodes: both keep serving their last revision (no request fails), and once it is
    /// back, a commit is heard again by NOTIFY alone (polling is an hour here): the listening connection reconnected.
    /// </summary>
    [Fact]
    public async Task StoreOutage_NodesKeepServing_AndAfterwardsNotifyReachesThemAgain()
    {
        var connection = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync());
        var url = $"postgres://{connection.Username}@{connection.Host}:{connection.Port}/{connection.Database}";
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var environment = new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = "gha_roles-test", ["GATEHOUSE_STORE_POLL_INTERVAL"] = "3600" };
        await using var one = GatehouseProcess.Start(environment, "run", "--store", url, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "one");
        await using var two = GatehouseProcess.Start(environment, "run", "--store", url, "--port", "0", "--admin-url", "http://127.0.0.1:0", "--no-portal", "--node-id", "two");
        await one.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        await two.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        var adminOne = Listening.Match(one.StandardOutput).Groups[3].Value;
        var gateways = new[] { Listening.Match(one.StandardOutput).Groups[1].Value.TrimEnd(','), Listening.Match(two.StandardOutput).Groups[1].Value.TrimEnd(',') };
        await WaitForListenersAsync(connection.ConnectionString, 2);
        using var admin = RunRoleCommandTests.AdminClient(adminOne);
        using (var service = await admin.PutAsync("/admin/services/backend", RunRoleCommandTests.Json($$"""{"targets":["{{backend.Urls.First()}}"]}""")))
        {
            Assert.Equal(HttpStatusCode.Created, service.StatusCode);
        }

        using (var route = await admin.PutAsync("/admin/routes/hello", RunRoleCommandTests.Json("""{"methods":["GET"],"path":"/hello","service":"backend"}""")))
        {
            Assert.Equal(HttpStatusCode.Created, route.StatusCode);
        }

        using var plain = new HttpClient();
        foreach (var gateway in gateways)
        {
            await RunRoleCommandTests.UntilOkAsync(plain, gateway + "/hello", seconds: 20);
        }

        await cluster.StopAsync();
        try
        {
            for (var i = 0; i < 50; i++)
            {
                using var response = await plain.GetAsync(gateways[i % 2] + "/hello");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            }
        }
        finally
        {
            await cluster.StartAsync();
        }

        await WaitForListenersAsync(connection.ConnectionString, 2, seconds: 60);
        // The admin API's pooled connections died with the server; its first attempts may answer 503 store-unavailable.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var route = await admin.PutAsync("/admin/routes/bye", RunRoleCommandTests.Json("""{"methods":["GET"],"path":"/bye","service":"backend"}"""));
            if (route.StatusCode == HttpStatusCode.Created)
            {
                break;
            }

            Assert.True(DateTime.UtcNow < deadline && route.StatusCode == HttpStatusCode.ServiceUnavailable, $"PUT answered {(int)route.StatusCode}");
            await Task.Delay(200);
        }

        await RunRoleCommandTests.UntilOkAsync(plain, gateways[1] + "/bye", seconds: 20);
    }

    /// <summary>
    /// <c>gatehouse demo --store postgres://…</c> imports the shop into the empty database and serves it. The import loads
    /// the file, which fetches each service's OpenAPI document, right after PostgreSQL's answer; run on the socket thread
    /// that answer completed on, the fetches' own answers never came (every start: "no complete answer within 10s").
    /// </summary>
    [Fact]
    public async Task Demo_OnAnEmptyPostgresStore_ImportsTheShop_AndServesIt()
    {
        var connection = new NpgsqlConnectionStringBuilder(await cluster.CreateDatabaseAsync());
        var url = $"postgres://{connection.Username}@{connection.Host}:{connection.Port}/{connection.Database}";
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports", "--store", url);
        var gateway = await demo.WaitForOutputAsync(new Regex(@"gateway\s+(http://\S+)"), TimeSpan.FromSeconds(60));
        var key = await demo.WaitForOutputAsync(new Regex("^demo key internal: (\\S+)$", RegexOptions.Multiline), TimeSpan.FromSeconds(30));
        using var client = new HttpClient { BaseAddress = new Uri(gateway), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);
        using var user = await client.GetAsync("/users/1");
        Assert.Equal(HttpStatusCode.OK, user.StatusCode);
        await using var read = new NpgsqlConnection(connection.ConnectionString);
        await read.OpenAsync();
        await using var revisions = new NpgsqlCommand("SELECT count(*) FROM revisions", read);
        Assert.Equal(1L, (long)(await revisions.ExecuteScalarAsync())!);
    }

    private static async Task WaitForListenersAsync(string connection, int count, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (true)
        {
            try
            {
                if (await ListenersAsync(connection) >= count)
                {
                    return;
                }
            }
            catch (NpgsqlException)
            {
                // The server is still starting.
            }

            Assert.True(DateTime.UtcNow < deadline, $"{count} LISTEN connections did not appear in {seconds} s");
            await Task.Delay(100);
        }
    }

    private static async Task<long> ListenersAsync(string connection)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gatehouse-listen' AND datname = current_database() AND query LIKE 'LISTEN%'", c);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
