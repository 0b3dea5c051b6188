using System.Net;
using System.Text.Json;

namespace Gatehouse.Gateway.Tests.ServiceApi;

/// <summary>Issue #3: the authorize API and the proxy decide the same for every caller, operation and method.</summary>
public sealed class ServiceApiAgreementTests
{
    private static readonly (string Operation, string Method, string Path)[] Calls =
    [
        ("users.getUser", "GET", "/users/1"),
        ("users.updateUser", "PUT", "/users/1"),
        ("orders.listOrders", "GET", "/orders"),
        ("orders.createOrder", "POST", "/orders"),
        ("products.list", "GET", "/products"),
    ];

    [Fact]
    public async Task Authorize_EveryCallerOperationAndMethod_AgreesWithTheProxy()
    {
        await using var setup = await ServiceApiSetup.StartAsync();
        var callers = new List<(string Name, string? Key)> { ("none", null), ("unknown", Model.Access.ApiKeyHash.NewKey()) };
        callers.AddRange(ServiceApiSetup.Applications.Select(a => (a, (string?)setup.Keys[a])));
        var seen = new HashSet<HttpStatusCode>();

        // Two passes: the second one runs the wholesale application (3 a minute, 2 counted per pass) into its limit.
        for (var pass = 0; pass < 2; pass++)
        {
            foreach (var (name, key) in callers)
            {
                foreach (var (operation, method, path) in Calls)
                {
                    var decision = await setup.DecideAsync("/api/authorize", operation, key, method);
                    using var request = new HttpRequestMessage(new HttpMethod(method), path);
                    if (key is not null)
                    {
                        request.Headers.Add("X-Api-Key", key);
                    }

                    using var response = await setup.Gateway.Client.SendAsync(request);
                    var status = response.StatusCode;
                    seen.Add(status);
                    var reason = decision.GetProperty("reason").GetString();
                    var because = $"pass {pass}, {name} {method} {operation}: proxy {(int)status}, authorize {decision}";
                    Assert.True(decision.GetProperty("allowed").GetBoolean() == ((int)status is >= 200 and < 300), because);
                    var expected = (int)status switch
                    {
                        401 => new string?[] { "missing_credential", "invalid_credential" },
                        403 => ["not_granted", "application_pending", "application_suspended"],
                        429 => ["rate_limited"],
                        _ => [null],
                    };
                    Assert.True(expected.Contains(reason), because);
                }
            }
        }

        // The table exercised every outcome, so the agreement above is not vacuous.
        Assert.Superset(new HashSet<HttpStatusCode> { HttpStatusCode.OK, HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.TooManyRequests }, seen);
    }

    [Fact]
    public async Task Authrep_CountsEachCall_ProxyAnswers429AfterTheLimit()
    {
        await using var setup = await ServiceApiSetup.StartAsync();
        var key = setup.Keys["trader"];
        for (var i = 0; i < 3; i++)
        {
            var decision = await setup.DecideAsync("/api/authrep", "orders.listOrders", key);
            Assert.True(decision.GetProperty("allowed").GetBoolean());
            Assert.Equal(2 - i, decision.GetProperty("limits")[0].GetProperty("remaining").GetInt32());
        }

        var fourth = await setup.DecideAsync("/api/authrep", "orders.listOrders", key);
        Assert.Equal("rate_limited", fourth.GetProperty("reason").GetString());
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders");
        request.Headers.Add("X-Api-Key", key);
        using var response = await setup.Gateway.Client.SendAsync(request);
        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
    }

    [Fact]
    public async Task Authorize_ManyTimes_NeverUsesUpTheLimit()
    {
        await using var setup = await ServiceApiSetup.StartAsync();
        var key = setup.Keys["trader"];
        JsonElement decision = default;
        for (var i = 0; i < 10; i++)
        {
            decision = await setup.DecideAsync("/api/authorize", "orders.createOrder", key);
            Assert.True(decision.GetProperty("allowed").GetBoolean());
        }

        Assert.Equal("trader", decision.GetProperty("application").GetString());
        Assert.Equal("wholesale", decision.GetProperty("plan").GetString());
        var limit = decision.GetProperty("limits")[0];
        Assert.Equal(3, limit.GetProperty("limit").GetInt32());
        Assert.Equal(2, limit.GetProperty("remaining").GetInt32());
        for (var i = 0; i < 3; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/orders");
            request.Headers.Add("X-Api-Key", key);
            using var response = await setup.Gateway.Client.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("GET", true)]
    [InlineData("DELETE", false)]
    public async Task Authorize_RouteBoundToNoOperation_DecidesByMethodAsTheProxy(string method, bool allowed)
    {
        await using var setup = await ServiceApiSetup.StartAsync();
        var key = setup.Keys["shop"];

        using var api = await setup.PostAsync("/api/authorize", $$"""{ "credential": { "apiKey": "{{key}}" }, "route": "legacy", "method": "{{method}}" }""");
        using var request = new HttpRequestMessage(new HttpMethod(method), "/legacy/anything");
        request.Headers.Add("X-Api-Key", key);
        using var proxied = await setup.Gateway.Client.SendAsync(request);

        var decision = JsonDocument.Parse(await api.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(allowed, decision.GetProperty("allowed").GetBoolean());
        Assert.Equal(allowed ? HttpStatusCode.OK : HttpStatusCode.Forbidden, proxied.StatusCode);
        Assert.Equal(allowed ? null : "not_granted", decision.GetProperty("reason").GetString());
    }
}
