using System.Net;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Tests.Infrastructure;
using static Gatehouse.Tests.Cli.HybridNodeCommandTests;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Cluster limits on hybrid data nodes (issue 21): two <c>gatehouse run --role data --control-plane URL --cluster-limits</c>
/// processes lease a daily quota of 10 from the control plane's counter engine (its PostgreSQL store) through the node
/// API. The default lease of 10 a day is 1, so exactly 10 get through across both nodes, not 10 on each; with the control
/// plane gone, each node admits its share.
/// </summary>
[Trait("Issue", "21")]
public sealed class HybridNodeClusterLimitsTests(PostgresCluster postgres) : IClassFixture<PostgresCluster>
{
    private const string Key = "ghk_hybrid-cluster-limits";
    private const string Spare = "ghk_hybrid-cluster-limits-spare";

    [Fact]
    public async Task TwoHybridNodes_WithClusterLimits_ShareADailyQuotaThroughTheControlPlane_SoExactlyItGetsThrough()
    {
        using var folder = new TempFolder();
        await using var backend = await RunRoleCommandTests.StartBackendAsync();
        var config = folder.Write("gatehouse.yaml", $$"""
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
              shop: { account: acme, plan: daily, keys: [{ sha256: {{Model.Access.ApiKeyHash.Sha256Hex(Key)}} }] }
              spare: { account: acme, plan: daily, keys: [{ sha256: {{Model.Access.ApiKeyHash.Sha256Hex(Spare)}} }] }
            """);
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync());
        var store = $"postgres://{connection.Username}@{connection.Host}:{connection.Port}/{connection.Database}";
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder, store: store, importConfig: config);
        await using var _ = control;
        var tokenOne = await IssueNodeTokenAsync(admin, "edge-1");
        var tokenTwo = await IssueNodeTokenAsync(admin, "edge-2");
        await using var one = StartDataNode(folder, nodeApi, tokenOne, Path.Combine(folder.Path, "one"), "edge-1", clusterLimits: true);
        await using var two = StartDataNode(folder, nodeApi, tokenTwo, Path.Combine(folder.Path, "two"), "edge-2", clusterLimits: true);
        string[] gateways = [(await DataUrlsAsync(one)).Gateway, (await DataUrlsAsync(two)).Gateway];

        // Both serve the config (a request without a key is refused by the plan, and counts nothing).
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        foreach (var gateway in gateways)
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while ((await client.GetAsync(gateway + "/hello")).StatusCode != HttpStatusCode.Unauthorized)
            {
                Assert.True(DateTime.UtcNow < deadline, $"{gateway} did not serve the config in 30 s");
                await Task.Delay(50);
            }
        }

        var admitted = await SendAsync(client, gateways, Key, 30);
        Assert.Equal(10, admitted.Sum());
        // Both nodes leased from the same counter: neither took the whole quota on its own count.
        Assert.True(admitted[0] > 0 && admitted[1] > 0, $"admitted {admitted[0]} and {admitted[1]}");

        // Each node learns the node count from its heartbeat's answer (every second): wait until both heartbeated after
        // both were counted, or a node whose last heartbeat came before the other's first still divides by 1.
        await BothNodesCountedAsync(connection.ConnectionString);

        // The control plane goes away (SIGKILL): each node falls back to its share (onEngineDown: share, the default) of
        // an application's quota it had not leased from yet: 10 a day over the 2 nodes its heartbeats counted, 5 each.
        control.Signal(9);
        await control.WaitForExitAsync(TimeSpan.FromSeconds(30));
        var shared = await SendAsync(client, gateways, Spare, 30);
        Assert.Equal([5, 5], shared);
    }

    /// <summary>
    /// A round of a node with more active counters than the node API takes in one add (10,000: request limits and token
    /// budgets of many applications) is sent in parts, so every counter is added and its total comes back in order.
    /// </summary>
    [Fact]
    public async Task ARoundOfMoreCountersThanOneAddTakes_IsAddedInParts_EveryTotalInOrder()
    {
        using var folder = new TempFolder();
        var (control, http, engine) = await RemoteEngineAsync(folder);
        await using var _ = control;
        using var __ = http;

        var count = Gatehouse.Management.Nodes.NodeApi.MaxDeltas + 5;
        var expires = DateTimeOffset.UtcNow.AddHours(1);
        var deltas = Enumerable.Range(0, count).Select(i => new Gatehouse.Model.Limits.CounterDelta($"k{i}", 1, i % 7 + 1, expires)).ToArray();
        var totals = await engine.AddAsync(deltas, CancellationToken.None);

        Assert.Equal(deltas.Select(d => d.Delta), totals);
    }

    /// <summary>
    /// A lease of tokens (a strict token limit's, issue 22) can be larger than a request limit's, and its limit larger than
    /// an int: the control plane's engine grants it whole, and never past the limit.
    /// </summary>
    [Fact]
    public async Task AReserveOfTokens_BeyondAnInt_IsGrantedUpToTheLimit()
    {
        using var folder = new TempFolder();
        var (control, http, engine) = await RemoteEngineAsync(folder);
        await using var _ = control;
        using var __ = http;

        var expires = DateTimeOffset.UtcNow.AddHours(1);
        const long Limit = 5_000_000_000;
        var first = await engine.ReserveAsync("tokens|p|0|Month|Total||app", 7, 60_000_000, Limit, expires, CancellationToken.None);
        Assert.Equal(new Gatehouse.Model.Limits.LeaseGrant(60_000_000, 60_000_000), first);
        var rest = await engine.ReserveAsync("tokens|p|0|Month|Total||app", 7, 6_000_000_000, Limit, expires, CancellationToken.None);
        Assert.Equal(new Gatehouse.Model.Limits.LeaseGrant(Limit - 60_000_000, Limit), rest);
    }

    // A control plane on a PostgreSQL store of its own, and this node's engine through its node API (as a hybrid node's).
    private async Task<(IAsyncDisposable Control, HttpClient Http, Gatehouse.Cli.Hybrid.RemoteLimitEngine Engine)> RemoteEngineAsync(TempFolder folder)
    {
        var connection = new Npgsql.NpgsqlConnectionStringBuilder(await postgres.CreateDatabaseAsync());
        var (control, admin, nodeApi) = await StartControlPlaneAsync(folder, store: $"postgres://{connection.Username}@{connection.Host}:{connection.Port}/{connection.Database}");
        var token = await IssueNodeTokenAsync(admin, "edge-1");
        using var ca = System.Security.Cryptography.X509Certificates.X509CertificateLoader.LoadCertificateFromFile(Path.Combine(folder.Path, "cp.crt"));
        var hash = ca.GetCertHashString();
        var handler = new SocketsHttpHandler();
        handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && certificate.GetCertHashString() == hash;
        var http = new HttpClient(handler);
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
        http.DefaultRequestHeaders.Add(Gatehouse.Management.Nodes.NodeApi.NodeHeader, "edge-1");
        return (control, http, new Gatehouse.Cli.Hybrid.RemoteLimitEngine(http, new Uri(nodeApi)));
    }

    private static async Task BothNodesCountedAsync(string connectionString)
    {
        await using var database = new Npgsql.NpgsqlConnection(connectionString);
        await database.OpenAsync();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        DateTime? bothSeen = null;
        var rounds = 0;
        while (true)
        {
            await using var command = new Npgsql.NpgsqlCommand("SELECT count(*), min(seen_at), max(seen_at) FROM limit_nodes", database);
            await using var reader = await command.ExecuteReaderAsync();
            await reader.ReadAsync();
            var (count, oldest, newest) = (reader.GetInt64(0), reader.IsDBNull(1) ? (DateTime?)null : reader.GetDateTime(1), reader.IsDBNull(2) ? (DateTime?)null : reader.GetDateTime(2));
            // Two rounds: a heartbeat after both were counted answered 2; the one after it shows the node had read that
            // answer (a node's rounds follow each other).
            if (count == 2 && (bothSeen is null || oldest > bothSeen))
            {
                if (bothSeen is not null && ++rounds == 2)
                {
                    return;
                }

                bothSeen = newest;
            }

            Assert.True(DateTime.UtcNow < deadline, $"the nodes' heartbeats did not both reach the control plane in 30 s ({count} nodes)");
            await Task.Delay(100);
        }
    }

    private static async Task<int[]> SendAsync(HttpClient client, string[] gateways, string key, int requests)
    {
        var admitted = new[] { 0, 0 };
        for (var i = 0; i < requests; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, gateways[i % 2] + "/hello");
            request.Headers.Add("X-Api-Key", key);
            using var response = await client.SendAsync(request);
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.TooManyRequests, $"answered {response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
            admitted[i % 2] += response.StatusCode == HttpStatusCode.OK ? 1 : 0;
        }

        return admitted;
    }
}
