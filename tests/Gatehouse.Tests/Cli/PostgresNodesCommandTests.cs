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

    private static async Task<long> ListenersAsync(string connection)
    {
        await using var c = new NpgsqlConnection(connection);
        await c.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'gatehouse-listen' AND datname = current_database() AND query LIKE 'LISTEN%'", c);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
