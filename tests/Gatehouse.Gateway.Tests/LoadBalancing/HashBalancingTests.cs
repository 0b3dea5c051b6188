using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.LoadBalancing;

/// <summary>
/// <c>loadBalancing: hash</c> through real gateways to real backends: a value of the request (a header, a cookie, a query
/// parameter, the client's address, the application) sends every request that carries it to one backend, on every
/// gateway whatever the order of its targets, and requests without it are spread.
/// </summary>
public sealed class HashBalancingTests : IAsyncLifetime
{
    private readonly List<TestBackend> _backends = [];

    public async Task InitializeAsync()
    {
        for (var i = 0; i < 3; i++)
        {
            var name = $"b{i}";
            _backends.Add(await TestBackend.StartAsync(app => app.Run(context => context.Response.WriteAsync(name))));
        }
    }

    public async Task DisposeAsync()
    {
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
    }

    private string Yaml(string hash, IEnumerable<int>? order = null, string extra = "") => $$"""
        version: 1
        gateway: { trustedProxies: [127.0.0.1, "::1"] }
        services:
          carts:
            targets: [{{string.Join(", ", (order ?? [0, 1, 2]).Select(i => _backends[i].Url))}}]
            loadBalancing: hash
        {{hash}}
        routes:
          carts: { path: "/carts/{**rest}", service: carts }
        {{extra}}
        """;

    private static async Task<string> GetAsync(TestGateway gateway, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        using var response = await gateway.Client.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadAsStringAsync();
    }

    public static TheoryData<string, string> Sources => new()
    {
        { "    hash: { on: header, name: X-Cart-Id }", "header" },
        { "    hash: { on: cookie, name: cart }", "cookie" },
        { "    hash: { on: query, name: cart }", "query" },
        { "", "clientIp" },
    };

    [Theory]
    [MemberData(nameof(Sources))]
    public async Task EveryRequestWithOneValue_ReachesOneBackend_OnEveryGateway_AndValuesSpread(string hash, string source)
    {
        // Two gateways (two nodes) whose configs list the targets in different orders.
        await using var one = await TestGateway.StartAsync(Yaml(hash));
        await using var two = await TestGateway.StartAsync(Yaml(hash, [2, 0, 1]));
        var placed = new Dictionary<string, string>();
        for (var user = 0; user < 24; user++)
        {
            var value = $"user-{user}";
            (string, string)[] headers = source switch
            {
                "header" => [("X-Cart-Id", value)],
                "cookie" => [("Cookie", $"theme=dark; cart={value}")],
                // From a trusted proxy, the client is the last address it added.
                "clientIp" => [("X-Forwarded-For", $"203.0.113.{user + 1}")],
                _ => [],
            };
            var path = source == "query" ? $"/carts/items?cart={value}&page={user}" : $"/carts/items?page={user}";
            var seen = new HashSet<string>();
            for (var i = 0; i < 3; i++)
            {
                seen.Add(await GetAsync(one, path, headers));
                seen.Add(await GetAsync(two, path, headers));
            }

            Assert.True(seen.Count == 1, $"{source} {value} reached {string.Join(", ", seen)}");
            placed[value] = seen.Single();
        }

        // 24 values on 3 backends: each gets some (all on two or fewer would be a broken hash: odds under 1 in 10^4).
        Assert.Equal(3, placed.Values.Distinct().Count());
    }

    [Fact]
    public async Task RequestsWithoutTheValue_AreSpreadOverEveryBackend()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml("    hash: { on: header, name: X-Cart-Id }"));
        var seen = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            seen.Add(await GetAsync(gateway, "/carts/items"));
        }

        Assert.Equal(["b0", "b0", "b1", "b1", "b2", "b2"], seen.Order());
    }

    [Fact]
    public async Task OnApplication_EachApplicationsCallsReachOneBackend()
    {
        var keys = Enumerable.Range(0, 12).Select(_ => TestKey.New()).ToArray();
        var extra = "plans:\n  retail: { include: [ { route: carts } ] }\naccounts: { acme: {} }\napplications:\n"
            + string.Concat(keys.Select((k, i) => AccessKit.Application($"app{i}", "retail", k)));
        await using var gateway = await TestGateway.StartAsync(Yaml("    hash: { on: application }", extra: extra));
        var placed = new List<string>();
        foreach (var key in keys)
        {
            var seen = new HashSet<string>();
            for (var i = 0; i < 4; i++)
            {
                seen.Add(await GetAsync(gateway, $"/carts/items?page={i}", (AccessKit.KeyHeader, key.Plaintext)));
            }

            Assert.Single(seen);
            placed.Add(seen.Single());
        }

        Assert.True(placed.Distinct().Count() >= 2, $"12 applications all on {placed[0]}");
    }
}
