using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Access;

namespace Gatehouse.Gateway.Tests.ServiceApi;

/// <summary>The service API's token check, body checks, reports, and its OpenAPI description (#3).</summary>
public sealed class ServiceApiRequestTests
{
    [Theory]
    [InlineData(null)]
    [InlineData("ghs_wrong")]
    public async Task ServiceToken_MissingOrWrong_Is401WithChallenge(string? token)
    {
        await using var setup = await ServiceApiSetup.StartAsync();
        using var client = new HttpClient { BaseAddress = setup.Api.BaseAddress };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        using var response = await client.PostAsync("/api/authorize", new StringContent(ServiceApiSetup.Body("users.getUser", null), Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("urn:gatehouse:problem:unauthorized", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Body_Over64KiB_Is413()
    {
        await using var setup = await ServiceApiSetup.StartAsync();
        var padding = new string('x', 70 * 1024);

        using var response = await setup.PostAsync("/api/authorize", $$"""{ "operation": "users.getUser", "client": "{{padding}}" }""");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("urn:gatehouse:problem:body-too-large", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "operation": "users.getUser", "credential": { "apiKey": "k", "colour": "red" } }""", "$.credential.colour")]
    [InlineData("""{ "operation": 42 }""", "$.operation")]
    [InlineData("""{ "operation": "users.getUser", """, "$")]
    public async Task Body_UnknownFieldWrongTypeOrBrokenJson_Is400WithThePath(string body, string path)
    {
        await using var setup = await ServiceApiSetup.StartAsync();

        using var response = await setup.PostAsync("/api/authorize", body);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("urn:gatehouse:problem:bad-json", problem.GetProperty("type").GetString());
        Assert.StartsWith(path, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "operation": "users.nope" }""", "$.operation")]
    [InlineData("""{ "route": "nope", "method": "GET" }""", "$.route")]
    public async Task Target_Unknown_Is422NamingTheField(string body, string field)
    {
        await using var setup = await ServiceApiSetup.StartAsync();

        using var response = await setup.PostAsync("/api/authrep", body);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("urn:gatehouse:problem:unknown-operation", problem.GetProperty("type").GetString());
        Assert.StartsWith(field + ":", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_ThreeHitsOnALimitOfThree_AuthorizeSaysRateLimited()
    {
        await using var setup = await ServiceApiSetup.StartAsync();
        var key = setup.Keys["trader"];
        var body = $$"""
            { "usage": [
              { "credential": { "apiKey": "{{key}}" }, "operation": "orders.listOrders", "hits": 3 },
              { "credential": { "apiKey": "{{ApiKeyHash.NewKey()}}" }, "operation": "orders.listOrders", "hits": 1 },
              { "credential": { "apiKey": "{{key}}" }, "operation": "orders.nope", "hits": 1 },
              { "credential": { "apiKey": "{{key}}" }, "operation": "users.getUser" }
            ] }
            """;

        using var response = await setup.PostAsync("/api/report", body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var result = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(1, result.GetProperty("accepted").GetInt32());
        Assert.Equal(
            [(1, "invalid_credential"), (2, "unknown_operation"), (3, "not_granted")],
            result.GetProperty("rejected").EnumerateArray().Select(r => (r.GetProperty("index").GetInt32(), r.GetProperty("reason").GetString())));

        using var authorize = await setup.PostAsync("/api/authorize", ServiceApiSetup.Body("orders.createOrder", key));
        var decision = JsonDocument.Parse(await authorize.Content.ReadAsStringAsync()).RootElement;
        Assert.False(decision.GetProperty("allowed").GetBoolean());
        Assert.Equal("rate_limited", decision.GetProperty("reason").GetString());
        Assert.Equal("\"minute\";q=3;w=60", authorize.Headers.GetValues("RateLimit-Policy").Single());
        Assert.StartsWith("\"minute\";r=0;", authorize.Headers.GetValues("RateLimit").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Report_OverAThousandEntries_Is400()
    {
        await using var setup = await ServiceApiSetup.StartAsync();
        var entries = string.Join(",", Enumerable.Repeat("""{"operation":"users.getUser"}""", 1001));

        using var response = await setup.PostAsync("/api/report", $$"""{ "usage": [{{entries}}] }""");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
    }

    [Fact]
    public async Task Authorize_ConfigWithoutPlans_Is409NoPlans()
    {
        await using var setup = await ServiceApiSetup.StartAsync(plans: false);

        using var response = await setup.PostAsync("/api/authorize", ServiceApiSetup.Body("users.getUser", null));

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        Assert.Contains("urn:gatehouse:problem:no-plans", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenApi_IsA31DocumentWithTheThreeEndpoints()
    {
        await using var setup = await ServiceApiSetup.StartAsync();
        using var client = new HttpClient { BaseAddress = setup.Api.BaseAddress };

        var document = JsonDocument.Parse(await client.GetStringAsync("/api/openapi.json")).RootElement;

        Assert.StartsWith("3.1", document.GetProperty("openapi").GetString(), StringComparison.Ordinal);
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/api/authorize", "/api/report", "/api/authrep" })
        {
            Assert.True(paths.GetProperty(path).TryGetProperty("post", out _), path);
        }
    }

    [Fact]
    public async Task ServiceToken_RotatedByReload_OldOneIs401NewOneWorks()
    {
        var keys = ServiceApiSetup.Applications.ToDictionary(a => a, _ => ApiKeyHash.NewKey());
        var (oldToken, newToken) = (ApiKeyHash.NewKey("ghs_"), ApiKeyHash.NewKey("ghs_"));
        await using var backend = await TestBackend.StartAsync(_ => Task.CompletedTask);
        var yaml = ServiceApiSetup.Yaml(backend.Url, ApiKeyHash.Sha256Hex(oldToken), keys);
        await using var gateway = await TestGateway.StartAsync(yaml);

        var errors = gateway.Host.Runtime.Apply(TestGateway.Parse(yaml.Replace(ApiKeyHash.Sha256Hex(oldToken), ApiKeyHash.Sha256Hex(newToken), StringComparison.Ordinal)));

        Assert.Empty(errors);
        using var client = new HttpClient { BaseAddress = new Uri(gateway.Host.ServiceApiUrl!) };
        foreach (var (token, status) in new[] { (oldToken, HttpStatusCode.Unauthorized), (newToken, HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/api/authorize")
            {
                Content = new StringContent(ServiceApiSetup.Body("products.list", null), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            using var response = await client.SendAsync(request);
            Assert.Equal(status, response.StatusCode);
        }
    }

    [Fact]
    public async Task AnApplicationsIpFilter_RefusesTheEndClientsAddress_BeforeItsLimitsCount()
    {
        // trader (3 requests a minute) may only be called from 192.0.2.0/24: as at the proxy, calls from elsewhere are
        // refused and use none of its limits; without an end client's address there is none to check.
        await using var setup = await ServiceApiSetup.StartAsync(editYaml: yaml => yaml.Replace(
            "trader: { account: acme, plan: wholesale,", "trader: { account: acme, plan: wholesale, ipFilter: { allow: [192.0.2.0/24] },", StringComparison.Ordinal));
        async Task<JsonElement> AuthrepAsync(string? client)
        {
            var body = System.Text.Json.Nodes.JsonNode.Parse(ServiceApiSetup.Body("orders.listOrders", setup.Keys["trader"]))!.AsObject();
            body["client"] = client;
            using var response = await setup.PostAsync("/api/authrep", body.ToJsonString());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
        }

        for (var i = 0; i < 3; i++)
        {
            var refused = await AuthrepAsync("203.0.113.9");
            Assert.False(refused.GetProperty("allowed").GetBoolean());
            Assert.Equal("ip_refused", refused.GetProperty("reason").GetString());
            Assert.Contains("the application 'trader' IP filter", refused.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        Assert.True((await AuthrepAsync("192.0.2.5")).GetProperty("allowed").GetBoolean());
        Assert.True((await AuthrepAsync(null)).GetProperty("allowed").GetBoolean());
        Assert.True((await AuthrepAsync("192.0.2.6")).GetProperty("allowed").GetBoolean());
        Assert.Equal("rate_limited", (await AuthrepAsync("192.0.2.5")).GetProperty("reason").GetString());
    }
}
