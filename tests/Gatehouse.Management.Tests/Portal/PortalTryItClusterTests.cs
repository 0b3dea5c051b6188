using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Tests.Support;
using Npgsql;

namespace Gatehouse.Management.Tests.Portal;

/// <summary>
/// Issue #18: with two control nodes on one PostgreSQL store behind a load balancer, try it holds an account to
/// <c>portal.tryItPerMinute</c> across both, counted in the store's counter engine, not that many on each.
/// </summary>
[Collection(PostgresCollection.Name)]
[Trait("Issue", "18")]
public sealed class PortalTryItClusterTests(PostgresCluster cluster)
{
    [Fact]
    public async Task TwoPortals_OnOnePostgresStore_AdmitAnAccountsTryItPerMinute_Together()
    {
        // A fake clock for the store's minute: the test cannot straddle two minutes, whose counts are apart.
        var time = new FakeTime();
        await using var h = await PortalHarness.StartAsync(time, store: await cluster.CreateDatabaseAsync());
        // The second control node's portal: buckets of its own, the same store.
        await using var second = await PortalHost.StartAsync(new PortalOptions { Url = "http://127.0.0.1:0", Admin = h.Admin, GatewayUrl = h.Gateway.Urls[0], Time = time });
        using var admin = h.AdminClient();
        using (var set = await admin.PutAsync("/admin/portal/settings", new StringContent("""{"tryItPerMinute":3}""", System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, set.StatusCode);
        }

        using var first = await h.ConsumerAsync("both@example.com");
        var (_, key) = await PortalHarness.CreateAppAsync(first, "retail");
        // The load balancer sends the same session to either node: the cookie-signing keys are in the store.
        using var other = new Browser(second.Url);
        foreach (Cookie cookie in first.Cookies.GetCookies(new Uri(h.Portal.Url)))
        {
            other.Cookies.Add(new Uri(second.Url), new Cookie(cookie.Name, cookie.Value, cookie.Path));
        }

        var target = "/try?scalar_url=" + Uri.EscapeDataString(h.Gateway.Urls[0].TrimEnd('/') + "/users/7");
        var statuses = new List<HttpStatusCode>();
        TimeSpan? retryAfter = null;
        for (var i = 0; i < 6; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, target);
            request.Headers.Add("X-Api-Key", key);
            request.Headers.Add("Sec-Fetch-Site", "same-origin");
            using var tried = await (i % 2 == 0 ? first : other).Client.SendAsync(request);
            statuses.Add(tried.StatusCode);
            retryAfter ??= tried.Headers.RetryAfter?.Delta;
        }

        // Each node alone would admit 3 (its bucket holds 3): together they admit 3, the rest wait for the store's next minute.
        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests, HttpStatusCode.TooManyRequests], statuses);
        Assert.InRange(retryAfter?.TotalSeconds ?? 0, 1, 60);

        // The count is the account's: another account's calls go on, on either node.
        using var calm = await h.ConsumerAsync("calm@example.com");
        using var elsewhere = new HttpRequestMessage(HttpMethod.Get, target);
        elsewhere.Headers.Add("X-Api-Key", key);
        elsewhere.Headers.Add("Sec-Fetch-Site", "same-origin");
        using var admitted = await calm.Client.SendAsync(elsewhere);
        Assert.Equal(HttpStatusCode.OK, admitted.StatusCode);
    }

    [Fact]
    public async Task TryItsCounters_WhoseMinuteHasPassed_AreDeletedByTheStoreItself_WithoutAnyGatewayHeartbeat()
    {
        // No cluster limits here, so no gateway heartbeats (whose sweep was the only one): try it alone writes counters.
        var time = new FakeTime();
        var database = await cluster.CreateDatabaseAsync();
        await using var h = await PortalHarness.StartAsync(time, store: database);
        using var browser = await h.ConsumerAsync("sweep@example.com");
        var (_, key) = await PortalHarness.CreateAppAsync(browser, "retail");
        var target = "/try?scalar_url=" + Uri.EscapeDataString(h.Gateway.Urls[0].TrimEnd('/') + "/users/7");

        async Task TryAsync()
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, target);
            request.Headers.Add("X-Api-Key", key);
            request.Headers.Add("Sec-Fetch-Site", "same-origin");
            using var tried = await browser.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, tried.StatusCode);
        }

        async Task<long[]> WindowsAsync()
        {
            await using var connection = new NpgsqlConnection(database);
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("SELECT window_index FROM limit_counters WHERE counter_key LIKE 'portal.tryIt|%' ORDER BY window_index", connection);
            var windows = new List<long>();
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                windows.Add(reader.GetInt64(0));
            }

            return [.. windows];
        }

        await TryAsync();
        var first = Assert.Single(await WindowsAsync());

        // Ten minutes on, the next call's write sweeps the first minute's counter (it expired a minute after its minute);
        // the current minute's stays.
        time.Advance(TimeSpan.FromMinutes(10));
        await TryAsync();
        await Wait.UntilAsync(async () => (await WindowsAsync()).SequenceEqual([first + 10]), TimeSpan.FromSeconds(10), "the expired try-it counter to be deleted");
    }
}
