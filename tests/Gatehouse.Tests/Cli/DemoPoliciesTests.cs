using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>Issue 23: the demo's CORS, cache and validation contract, checked through the real executable.</summary>
[Trait("Issue", "23")]
public sealed partial class DemoPoliciesTests
{
    [Fact]
    public async Task Demo_AllowsThePortalsOrigin_CachesProducts_AndValidatesOrders()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var url = await demo.WaitForOutputAsync(GatewayLine(), TimeSpan.FromSeconds(60));
        await demo.WaitForOutputAsync(WholesaleLine(), TimeSpan.FromSeconds(30));
        var admin = AdminLine().Match(demo.StandardOutput).Groups[1].Value;
        var token = TokenLine().Match(demo.StandardOutput).Groups[1].Value;
        var wholesale = WholesaleLine().Match(demo.StandardOutput).Groups[1].Value;
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };

        // CORS: the portal's origin may call the public catalogue from a browser; another origin may not.
        using (var preflight = new HttpRequestMessage(HttpMethod.Options, "/products"))
        {
            preflight.Headers.Add("Origin", "http://127.0.0.1:8083");
            preflight.Headers.Add("Access-Control-Request-Method", "GET");
            var answer = await client.SendAsync(preflight);
            Assert.Equal(HttpStatusCode.NoContent, answer.StatusCode);
            Assert.Equal("http://127.0.0.1:8083", answer.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }

        using (var evil = new HttpRequestMessage(HttpMethod.Options, "/products"))
        {
            evil.Headers.Add("Origin", "http://evil.example");
            evil.Headers.Add("Access-Control-Request-Method", "GET");
            var answer = await client.SendAsync(evil);
            Assert.False(answer.Headers.Contains("Access-Control-Allow-Origin"));
        }

        // Cache: the second identical request within 30 s is a hit, with an Age.
        var first = await client.GetAsync("/products/3");
        var second = await client.GetAsync("/products/3");
        Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        Assert.Equal("miss", first.Headers.GetValues("Gatehouse-Cache").Single());
        Assert.Equal("hit", second.Headers.GetValues("Gatehouse-Cache").Single());
        Assert.True(second.Headers.Age.HasValue);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());

        // Purge through the admin API: the next request goes to the service again.
        using (var purge = new HttpRequestMessage(HttpMethod.Post, admin + "/admin/cache/purge") { Content = new StringContent("{\"route\":\"products-get\"}", Encoding.UTF8, "application/json") })
        {
            purge.Headers.Add("Authorization", "Bearer " + token);
            var purged = await client.SendAsync(purge);
            Assert.Equal(HttpStatusCode.OK, purged.StatusCode);
            Assert.Equal(1, JsonDocument.Parse(await purged.Content.ReadAsStringAsync()).RootElement.GetProperty("purged").GetInt32());
        }

        Assert.Equal("miss", (await client.GetAsync("/products/3")).Headers.GetValues("Gatehouse-Cache").Single());

        // Validation: an order without userId is refused at the gateway, naming /userId; the orders service never sees it.
        client.DefaultRequestHeaders.Add("X-Api-Key", wholesale);
        var before = JsonDocument.Parse(await client.GetStringAsync("/orders")).RootElement.GetArrayLength();
        var refused = await client.PostAsync("/orders", new StringContent("{\"items\":[{\"productId\":3,\"quantity\":2}]}", Encoding.UTF8, "application/json"));
        var problem = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains(problem.GetProperty("errors").EnumerateArray(), e => e.GetProperty("pointer").GetString() == "/userId");
        var after = JsonDocument.Parse(await client.GetStringAsync("/orders")).RootElement.GetArrayLength();
        Assert.Equal(before, after);

        var created = await client.PostAsync("/orders", new StringContent("{\"userId\":1,\"items\":[{\"productId\":3,\"quantity\":2}]}", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();

    [GeneratedRegex(@"admin API (http://\S+)")]
    private static partial Regex AdminLine();

    [GeneratedRegex(@"^demo admin token: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TokenLine();

    [GeneratedRegex(@"^demo key wholesale: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex WholesaleLine();
}
