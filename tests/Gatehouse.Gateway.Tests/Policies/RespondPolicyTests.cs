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

    [Fact]
    public async Task ARedirect_BuildsItsLocationFromTheCaptures_EncodedSoNothingCanBeInjected_AndKeepsTheQuery()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              api: { targets: [{{backend.Url}}] }
            routes:
              v1: { path: "/v1/orders/{**rest}", service: api, policies: { respond: { status: 308, location: "/v2/orders/{**rest}", keepQuery: true, headers: { X-Asked-For: "@request.query.page" } } } }
              one: { path: "/v1/order/{id}", service: api, policies: { respond: { status: 301, location: "https://new.example.com/orders/{id}" } } }
            """);

        var nested = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/v1/orders/7/items?q=caf%C3%A9&page=2");
        var injected = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/v1/order/x%0D%0ASet-Cookie:%20a=b?q=1");
        var crlfQuery = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/v1/orders/7?page=a%0D%0AX-Evil:%201");

        Assert.Equal(HttpStatusCode.PermanentRedirect, nested.Response.StatusCode);
        Assert.Equal("/v2/orders/7/items?q=caf%C3%A9&page=2", nested.Response.Headers.Location?.OriginalString);
        Assert.Equal("2", nested.Response.Header("X-Asked-For"));
        // The capture's CR LF is percent-encoded into the path; it never becomes a header, and the query is not kept here.
        Assert.Equal(HttpStatusCode.MovedPermanently, injected.Response.StatusCode);
        Assert.Equal("https://new.example.com/orders/x%0D%0ASet-Cookie:%20a=b", injected.Response.Headers.Location?.OriginalString);
        Assert.False(injected.Response.Headers.Contains("Set-Cookie"));
        // A reference whose value a header cannot carry is left out; the kept query stays as the client encoded it.
        Assert.Equal("/v2/orders/7?page=a%0D%0AX-Evil:%201", crlfQuery.Response.Headers.Location?.OriginalString);
        Assert.Null(crlfQuery.Response.Header("X-Asked-For"));
        Assert.False(crlfQuery.Response.Headers.Contains("X-Evil"));
        Assert.Equal(0, backend.Count);
    }
}
