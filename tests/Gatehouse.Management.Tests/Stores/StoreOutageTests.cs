using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Stores;
using Gatehouse.Management.Tests.Support;
using Gatehouse.Model.Access;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Stores;

/// <summary>
/// PostgreSQL goes away and comes back under a running admin API (issue 24): writes answer 503 problem+json with
/// Retry-After instead of an empty 500, and the node logs one line when the store goes and one when it is back.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Issue", "24")]
public sealed class StoreOutageTests(PostgresCluster cluster)
{
    private const string Token = "gha_outage-test-token";

    [Fact]
    public async Task StoreDown_WritesAnswer503WithRetryAfter_AndTheOutageIsLoggedOnceEachWay()
    {
        await using var store = await ConfigStores.OpenAsync(await cluster.CreateDatabaseAsync(), TimeProvider.System);
        var logs = new CapturingLoggerProvider();
        var health = new StoreHealth(logs.CreateLogger("Gatehouse.Store"));
        await using var admin = await AdminApi.StartAsync(new AdminApiOptions
        {
            Url = "http://127.0.0.1:0",
            Store = store,
            TokenSha256 = ApiKeyHash.Sha256Hex(Token),
            Apply = _ => [],
            FollowInterval = TimeSpan.FromMilliseconds(200),
            Health = health,
            ConfigureLogging = logging => logging.ClearProviders(),
        });
        using var client = new HttpClient { BaseAddress = new Uri(admin.Url), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        Task<HttpResponseMessage> PutRouteAsync() => client.PutAsync("/admin/routes/r", new StringContent("""{"path":"/r","service":"s"}""", Encoding.UTF8, "application/json"));

        using (var service = await client.PutAsync("/admin/services/s", new StringContent("""{"targets":["http://127.0.0.1:9"]}""", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.Created, service.StatusCode);
        }

        await cluster.StopAsync();
        try
        {
            using var refused = await PutRouteAsync();
            var text = await refused.Content.ReadAsStringAsync();
            Assert.True(refused.StatusCode == HttpStatusCode.ServiceUnavailable, text);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType!.MediaType);
            Assert.Equal("urn:gatehouse:problem:store-unavailable", (string)JsonNode.Parse(text)!["type"]!);
            Assert.True(refused.Headers.RetryAfter?.Delta >= TimeSpan.FromSeconds(2), "no Retry-After");

            // The follow loop fails too, and backs off (the wait before its next attempt grows per failure).
            await Wait.UntilAsync(() => health.BackOff >= TimeSpan.FromSeconds(4), "a second failed attempt");
        }
        finally
        {
            await cluster.StartAsync();
        }

        await logs.WaitForAsync(e => e.Message.Contains("reachable again", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        await Wait.UntilAsync(async () =>
        {
            using var put = await PutRouteAsync();
            return put.StatusCode == HttpStatusCode.Created;
        }, "the route to be created once the store is back");

        var warnings = logs.Entries.Where(e => e.Level >= LogLevel.Warning).ToList();
        var down = Assert.Single(warnings);
        Assert.Contains("The configuration store is unreachable", down.Message, StringComparison.Ordinal);
        // One line: no stack trace, no exception dump.
        Assert.DoesNotContain('\n', down.Message);
        Assert.Single(logs.Entries, e => e.Message.Contains("reachable again", StringComparison.Ordinal));
    }

    [Fact]
    public void BackOff_Doubles_FromTwoSecondsToThirty_AndEndsWhenTheStoreAnswers()
    {
        var health = new StoreHealth(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.Equal(TimeSpan.Zero, health.BackOff);
        var seen = new List<double>();
        for (var i = 0; i < 7; i++)
        {
            health.Failed(new TimeoutException("no answer"));
            seen.Add(health.BackOff.TotalSeconds);
        }

        Assert.Equal([2, 4, 8, 16, 30, 30, 30], seen);
        health.Succeeded();
        Assert.Equal(TimeSpan.Zero, health.BackOff);
        Assert.False(health.IsDown);
    }
}
