using System.Net;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Management.Tests.Registrations;

/// <summary>
/// Issue #5, "every container pings home": instances register themselves through the admin API with a service's
/// registration token, renew with heartbeats, and the gateway in front routes to them until they leave or go quiet.
/// </summary>
public sealed class RegistrationApiTests : IAsyncLifetime
{
    private const string UsersToken = "ghr_users-registration-token";
    private const string OrdersToken = "ghr_orders-registration-token";

    private RegistrationNode _node = null!;
    private WebApplication _a = null!;
    private WebApplication _b = null!;

    private string A => _a.Urls.First();

    private string B => _b.Urls.First();

    public async Task InitializeAsync()
    {
        _a = await RegistrationNode.StartBackendAsync("a");
        _b = await RegistrationNode.StartBackendAsync("b");
        _node = await RegistrationNode.StartAsync();
        await _node.PutResourceAsync("/admin/services/users", UsersService());
        await _node.PutResourceAsync("/admin/services/orders", $$$"""{"registration":{"tokenSha256":"{{{ApiKeyHash.Sha256Hex(OrdersToken)}}}"}}""");
        await _node.PutResourceAsync("/admin/services/fixed", """{"targets":["http://127.0.0.1:9"]}""");
        await _node.PutResourceAsync("/admin/routes/x", """{"methods":["GET"],"path":"/x","service":"users"}""");
    }

    public async Task DisposeAsync()
    {
        await _node.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
    }

    private static string UsersService(string timeout = "30s") => $$$"""
        {"timeout":"{{{timeout}}}","registration":{"tokenSha256":"{{{ApiKeyHash.Sha256Hex(UsersToken)}}}","ttl":"30s","maxTtl":"1m","allowedNetworks":["127.0.0.0/8"]}}
        """;

    private async Task<HttpResponseMessage> RegisterAsync(string url, string? ttl = null, string token = UsersToken, string service = "users")
    {
        using var client = _node.AdminClient(token);
        var body = ttl is null ? $$"""{"url":"{{url}}"}""" : $$"""{"url":"{{url}}","ttl":"{{ttl}}"}""";
        return await client.PutAsync($"/admin/services/{service}/registrations", RegistrationNode.Json(body));
    }

    private async Task<JsonObject> RegisterOkAsync(string url, string? ttl = null)
    {
        using var response = await RegisterAsync(url, ttl);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode} {text}");
        return JsonNode.Parse(text)!.AsObject();
    }

    private static async Task<JsonObject> ProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        Assert.Equal(status, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    [Fact]
    public async Task Register_WithTheServiceToken_TheGatewayRoutesToItWhenTheAnswerArrives()
    {
        Assert.Equal(["503"], await _node.AnswersAsync(1));

        var answer = await RegisterOkAsync(A + "/");

        Assert.Equal("users", (string)answer["service"]!);
        Assert.Equal(A, (string)answer["url"]!);
        Assert.Equal("service-token", (string)answer["owner"]!);
        Assert.Equal("30s", (string)answer["ttl"]!);
        Assert.InRange(DateTimeOffset.Parse((string)answer["expiresAt"]!, System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.UtcNow,
            TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(31));
        // No wait: the admin API had this process's follower read the store before it answered.
        Assert.Equal(["a"], await _node.AnswersAsync());
    }

    [Fact]
    public async Task Register_ASecondInstance_BothGetTraffic()
    {
        await RegisterOkAsync(A);
        await RegisterOkAsync(B);

        Assert.Equal(["a", "b"], await _node.AnswersAsync());
    }

    [Fact]
    public async Task Heartbeats_StopUnderAShortTtl_TheTargetDropsOut()
    {
        await RegisterOkAsync(A, ttl: "1s");
        await RegisterOkAsync(B, ttl: "1m");
        Assert.Contains("a", await _node.AnswersAsync());

        await Wait.UntilAsync(async () => (await _node.AnswersAsync(4)).SetEquals(["b"]), "a to drop out after its 1s ttl");
        Assert.DoesNotContain(A, (await _node.Store.ListRegistrationsAsync(DateTimeOffset.UtcNow)).Select(r => r.Url));
    }

    /// <summary>
    /// Many instances heartbeating at once (their writes committed together): every one is answered 200 and stored, and
    /// a renewal comes back with its new expiry.
    /// </summary>
    [Fact]
    public async Task ManyAtOnce_AreEachAnswered_AndAllStored()
    {
        var urls = Enumerable.Range(1, 120).Select(i => $"http://127.0.0.{i}:8080").ToList();
        foreach (var round in new[] { "30s", "45s" })
        {
            var answers = await Task.WhenAll(urls.Select(async url =>
            {
                using var response = await RegisterAsync(url, round);
                return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!["ttl"]?.GetValue<string>());
            }));
            Assert.All(answers, a => Assert.Equal((HttpStatusCode.OK, round), a));
        }

        var stored = (await _node.Store.ListRegistrationsAsync(DateTimeOffset.UtcNow.AddSeconds(40))).Where(r => r.Service == "users").Select(r => r.Url).ToHashSet();
        Assert.True(stored.SetEquals(urls), $"{stored.Count} of {urls.Count} renewed past 40 s");
    }

    [Fact]
    public async Task Heartbeats_KeepATargetPastItsTtl()
    {
        await RegisterOkAsync(A, ttl: "2s");
        var until = DateTime.UtcNow.AddSeconds(3);
        while (DateTime.UtcNow < until)
        {
            await RegisterOkAsync(A, ttl: "2s");
            Assert.Equal(["a"], await _node.AnswersAsync(2));
        }
    }

    [Fact]
    public async Task Deregister_RemovesTheTargetAtOnce()
    {
        await RegisterOkAsync(A);
        await RegisterOkAsync(B);
        using var client = _node.AdminClient(UsersToken);

        using var deleted = await client.DeleteAsync($"/admin/services/users/registrations?url={Uri.EscapeDataString(A)}");

        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(["b"], await _node.AnswersAsync());
        using var again = await client.DeleteAsync($"/admin/services/users/registrations?url={Uri.EscapeDataString(A)}");
        await ProblemAsync(again, HttpStatusCode.NotFound);
    }

    [Fact]
    public async Task Heartbeats_CreateNoRevisionAndNoAuditEntry()
    {
        var revision = await _node.Store.CurrentRevisionAsync();
        var audit = (await _node.Store.ListAuditAsync(limit: 1000)).Count;

        for (var i = 0; i < 5; i++)
        {
            await RegisterOkAsync(A);
        }

        using var client = _node.AdminClient(UsersToken);
        using var deleted = await client.DeleteAsync($"/admin/services/users/registrations?url={Uri.EscapeDataString(A)}");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(revision, await _node.Store.CurrentRevisionAsync());
        Assert.Equal(audit, (await _node.Store.ListAuditAsync(limit: 1000)).Count);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("ghr_not-a-token-anyone-has")]
    public async Task Register_WithNoOrAnUnknownToken_Is401(string? token)
    {
        using var client = _node.AdminClient(token);

        using var response = await client.PutAsync("/admin/services/users/registrations", RegistrationNode.Json($$"""{"url":"{{A}}"}"""));

        var problem = await ProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.Equal("urn:gatehouse:problem:admin-unauthorized", (string)problem["type"]!);
        Assert.Empty(await _node.Store.ListRegistrationsAsync(DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task Register_WithAnotherServicesToken_Is403()
    {
        using var response = await RegisterAsync(A, token: OrdersToken);

        var problem = await ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Contains("'orders'", (string)problem["detail"]!, StringComparison.Ordinal);
        Assert.Empty(await _node.Store.ListRegistrationsAsync(DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task Register_ForAServiceWithoutRegistration_Is403EvenWithTheAdminToken()
    {
        using var response = await RegisterAsync(A, token: RegistrationNode.AdminToken, service: "fixed");

        await ProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.Empty(await _node.Store.ListRegistrationsAsync(DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task Register_WithTheAdminToken_IsOwnedByTheAdmin()
    {
        using var response = await RegisterAsync(A, token: RegistrationNode.AdminToken);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("admin", Assert.Single(await _node.Store.ListRegistrationsAsync(DateTimeOffset.UtcNow)).Owner);
    }

    [Fact]
    public async Task RegistrationToken_OpensNothingElseOfTheAdminApi()
    {
        await RegisterOkAsync(A);
        using var client = _node.AdminClient(UsersToken);

        using var list = await client.GetAsync("/admin/services/users/registrations");
        using var service = await client.PutAsync("/admin/services/users", RegistrationNode.Json("""{"targets":["http://127.0.0.1:1"]}"""));
        using var config = await client.GetAsync("/admin/config");

        await ProblemAsync(list, HttpStatusCode.Unauthorized);
        await ProblemAsync(service, HttpStatusCode.Unauthorized);
        await ProblemAsync(config, HttpStatusCode.Unauthorized);
    }

    [Theory]
    [InlineData("http://user:pw@127.0.0.1:8080")]
    [InlineData("http://127.0.0.1:8080/api")]
    [InlineData("http://127.0.0.1:8080/?q=1")]
    [InlineData("ftp://127.0.0.1:21")]
    [InlineData("http://10.1.2.3:8080")]
    [InlineData("http://localhost:8080")]
    [InlineData("not a url")]
    public async Task Register_ABadUrl_Is422NamingUrl(string url)
    {
        using var response = await RegisterAsync(url);

        var problem = await ProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.Equal("url", (string)problem["errors"]![0]!["path"]!);
        Assert.Empty(await _node.Store.ListRegistrationsAsync(DateTimeOffset.UtcNow));
    }

    [Theory]
    [InlineData("""{"ttl":"30s"}""", HttpStatusCode.UnprocessableEntity, "url")]
    [InlineData("""{"url":"http://127.0.0.1:8080","ttl":"soon"}""", HttpStatusCode.UnprocessableEntity, "ttl")]
    [InlineData("""{"url":"http://127.0.0.1:8080","ttl":"100ms"}""", HttpStatusCode.UnprocessableEntity, "ttl")]
    [InlineData("""{"url":"http://127.0.0.1:8080","weight":3}""", HttpStatusCode.BadRequest, null)]
    [InlineData("""["http://127.0.0.1:8080"]""", HttpStatusCode.BadRequest, null)]
    public async Task Register_ABadBody_IsRefusedWithThePath(string body, HttpStatusCode status, string? path)
    {
        using var client = _node.AdminClient(UsersToken);

        using var response = await client.PutAsync("/admin/services/users/registrations", RegistrationNode.Json(body));

        var problem = await ProblemAsync(response, status);
        if (path is not null)
        {
            Assert.Equal(path, (string)problem["errors"]![0]!["path"]!);
        }

        Assert.Empty(await _node.Store.ListRegistrationsAsync(DateTimeOffset.UtcNow));
    }

    [Fact]
    public async Task Register_WithATtlAboveMaxTtl_GetsMaxTtl()
    {
        var answer = await RegisterOkAsync(A, ttl: "1h");

        Assert.Equal("1m", (string)answer["ttl"]!);
        var stored = Assert.Single(await _node.Store.ListRegistrationsAsync(DateTimeOffset.UtcNow));
        Assert.InRange(stored.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(30), TimeSpan.FromMinutes(1));
    }

    [Fact]
    public async Task NewRevision_ThatRebuildsTheUpstream_KeepsRegisteredTargets()
    {
        await RegisterOkAsync(A);
        var revision = await _node.Store.CurrentRevisionAsync();

        await _node.PutResourceAsync("/admin/services/users", UsersService(timeout: "20s"));

        Assert.Equal(revision + 1, await _node.Store.CurrentRevisionAsync());
        Assert.Equal(["a"], await _node.AnswersAsync());
    }

    [Fact]
    public async Task List_ShowsLiveRegistrations_ByServiceAndAll()
    {
        await RegisterOkAsync(A);
        using var client = _node.AdminClient();

        var one = JsonNode.Parse(await client.GetStringAsync("/admin/services/users/registrations"))!["items"]!.AsArray();
        var all = JsonNode.Parse(await client.GetStringAsync("/admin/registrations"))!["items"]!.AsArray();
        var none = JsonNode.Parse(await client.GetStringAsync("/admin/services/orders/registrations"))!["items"]!.AsArray();

        var item = Assert.Single(one)!;
        Assert.Equal(A, (string)item["url"]!);
        Assert.Equal("users", (string)item["service"]!);
        Assert.Equal("service-token", (string)item["owner"]!);
        Assert.Single(all);
        Assert.Empty(none);
    }

    [Fact]
    public async Task OpenApi_DescribesTheRegistrationEndpoints()
    {
        using var client = _node.AdminClient();

        var paths = JsonNode.Parse(await client.GetStringAsync("/admin/openapi.json"))!["paths"]!.AsObject();

        var registrations = paths["/admin/services/{name}/registrations"]!.AsObject();
        Assert.True(registrations.ContainsKey("put") && registrations.ContainsKey("delete") && registrations.ContainsKey("get"));
        Assert.True(paths.ContainsKey("/admin/registrations"));
    }
}
