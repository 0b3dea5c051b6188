using System.Net;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>
/// <c>policies.respond</c>: the route answers a fixed response after authentication and limits, the service is never
/// called, and a service-wide answer can be switched off on one route.
/// </summary>
public sealed class RespondPolicyTests
{
    private static readonly TestKey Key = TestKey.New();

    private static string Yaml(string backend, string routePolicies, string servicePolicies = "{}") => $$"""
        version: 1
        services:
          api: { targets: [{{backend}}], policies: {{servicePolicies}} }
        routes:
          orders: { methods: [GET, POST], path: "/orders/{id}", service: api, policies: {{routePolicies}} }
          health: { methods: [GET], path: "/health", service: api }
        plans:
          retail: { include: [ { path: "/**" } ], limits: [ { requests: 2, per: minute } ] }
        accounts: { acme: {} }
        applications:
          shop: { account: acme, plan: retail, keys: [ { sha256: {{Key.Sha256}} } ] }
        """;

    [Fact]
    public async Task TheRoute_AnswersItsFixedResponse_AfterTheKeyAndTheLimit_AndTheServiceIsNeverCalled()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url,
            """{ respond: { status: 503, body: '{"message":"down for maintenance"}', headers: { Retry-After: "600" } }, cors: { origins: ["https://app.example"] } }"""));

        var anonymous = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/7");
        var first = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Post, "/orders/7", ("X-Api-Key", Key.Plaintext), ("Origin", "https://app.example"));
        var head = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Head, "/orders/8", ("X-Api-Key", Key.Plaintext));
        var third = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/9", ("X-Api-Key", Key.Plaintext));

        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.Response.StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, first.Response.StatusCode);
        Assert.Equal("""{"message":"down for maintenance"}""", first.Body);
        Assert.Equal("application/json", first.Response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("600", first.Response.Header("Retry-After"));
        Assert.Equal("https://app.example", first.Response.Header("Access-Control-Allow-Origin"));
        Assert.NotNull(first.Response.Header("X-Request-Id"));
        Assert.NotNull(first.Response.Header("RateLimit"));
        Assert.Equal((HttpStatusCode.ServiceUnavailable, ""), (head.Response.StatusCode, head.Body));
        Assert.Equal(HttpStatusCode.TooManyRequests, third.Response.StatusCode); // each fixed answer counted
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task AServiceWideAnswer_CanBeSwitchedOffOnOneRoute()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ respond: { enabled: false } }", "{ respond: { body: 'mocked' } }"));

        var mocked = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/health", ("X-Api-Key", Key.Plaintext));
        var forwarded = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/orders/7", ("X-Api-Key", Key.Plaintext));

        Assert.Equal(("mocked", "text/plain"), (mocked.Body, mocked.Response.Content.Headers.ContentType?.MediaType));
        Assert.Equal(HttpStatusCode.OK, forwarded.Response.StatusCode);
        Assert.Contains("/orders/7", forwarded.Body, StringComparison.Ordinal);
        Assert.Equal(1, backend.Count);
    }
}
