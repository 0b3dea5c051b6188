using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>Issue 23, CORS: preflights answered at the gateway, origins never reflected unless listed, look-alikes refused.</summary>
[Trait("Issue", "23")]
public sealed class CorsPolicyTests
{
    private static string Yaml(string backend) => $$"""
        version: 1
        gateway:
          portalOrigin: "http://127.0.0.1:8083"
        services:
          api:
            targets: [{{backend}}]
            policies:
              cors: { origins: ["https://app.example.com", "https://*.example.org"], portal: true, headers: [X-Api-Key, Content-Type] }
        routes:
          items: { methods: [GET], path: "/items/{id}", service: api }
          plain: { methods: [GET], path: "/plain", service: api, policies: { cors: { enabled: false } } }
        """;

    private static Task<(HttpResponseMessage Response, string Body)> PreflightAsync(TestGateway gateway, string path, string origin, string method = "GET", string? headers = null)
    {
        var list = new List<(string, string)> { ("Origin", origin), ("Access-Control-Request-Method", method) };
        if (headers is not null)
        {
            list.Add(("Access-Control-Request-Headers", headers));
        }

        return PolicyHttp.SendAsync(gateway.Client, HttpMethod.Options, path, [.. list]);
    }

    [Fact]
    public async Task Preflight_FromAnAllowedOrigin_Gets204WithThatOrigin_AndNeverReachesTheService()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var (portal, _) = await PreflightAsync(gateway, "/items/1", "http://127.0.0.1:8083", headers: "x-api-key");
        var (app, _) = await PreflightAsync(gateway, "/items/1", "https://app.example.com");
        var (sub, _) = await PreflightAsync(gateway, "/items/1", "https://shop.eu.example.org");

        Assert.Equal(HttpStatusCode.NoContent, portal.StatusCode);
        Assert.Equal("http://127.0.0.1:8083", portal.Header("Access-Control-Allow-Origin"));
        Assert.Contains("GET", portal.Header("Access-Control-Allow-Methods"), StringComparison.Ordinal);
        Assert.Equal("600", portal.Header("Access-Control-Max-Age"));
        Assert.Contains("Origin", portal.Header("Vary"), StringComparison.Ordinal);
        Assert.Equal("https://app.example.com", app.Header("Access-Control-Allow-Origin"));
        Assert.Equal("https://shop.eu.example.org", sub.Header("Access-Control-Allow-Origin"));
        Assert.Equal(0, backend.Count);
    }

    [Theory]
    [InlineData("http://evil.example")]
    [InlineData("null")]
    [InlineData("https://app.example.com.evil.com")]
    [InlineData("https://evilapp.example.com")]
    [InlineData("https://evilexample.org")]
    [InlineData("https://example.org")]
    [InlineData("http://app.example.com")]
    [InlineData("https://app.example.com:8443")]
    [InlineData("https://app.example.com/path")]
    public async Task Preflight_FromAnOriginNotListed_IsRefused_WithoutAnyAllowOrigin(string origin)
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var (response, body) = await PreflightAsync(gateway, "/items/1", origin);

        Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        Assert.Contains("cors-preflight-refused", body, StringComparison.Ordinal);
        Assert.Null(response.Header("Access-Control-Allow-Origin"));
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task Preflight_AskingForAMethodOrHeaderNotAllowed_IsRefused()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var (method, _) = await PreflightAsync(gateway, "/items/1", "https://app.example.com", "DELETE");
        var (header, body) = await PreflightAsync(gateway, "/items/1", "https://app.example.com", headers: "x-api-key, x-evil");

        Assert.Equal(HttpStatusCode.MethodNotAllowed, method.StatusCode); // no route serves DELETE there at all
        Assert.Equal(HttpStatusCode.Forbidden, header.StatusCode);
        Assert.Contains("x-evil", body, StringComparison.Ordinal);
        Assert.Null(header.Header("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task ActualResponse_GetsTheOriginOnlyWhenAllowed_AndAlwaysVaryOrigin_ReplacingTheServicesOwn()
    {
        await using var backend = await RecordingBackend.StartAsync(async (context, _) =>
        {
            context.Response.Headers.AccessControlAllowOrigin = "*";
            context.Response.Headers.Vary = "Accept";
            await context.Response.WriteAsync("{}");
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));

        var (allowed, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/1", ("Origin", "https://app.example.com"));
        var (evil, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/1", ("Origin", "https://evil.example"));
        var (none, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/1");
        var (off, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/plain", ("Origin", "https://evil.example"));

        Assert.Equal("https://app.example.com", allowed.Header("Access-Control-Allow-Origin"));
        Assert.Contains("X-Request-Id", allowed.Header("Access-Control-Expose-Headers"), StringComparison.Ordinal);
        Assert.Equal("Accept,Origin", allowed.Header("Vary"));
        Assert.Null(evil.Header("Access-Control-Allow-Origin"));
        Assert.Equal("Accept,Origin", evil.Header("Vary"));
        Assert.Null(none.Header("Access-Control-Allow-Origin"));
        Assert.Equal("Accept,Origin", none.Header("Vary"));
        // A route with the policy switched off passes the service's headers on untouched.
        Assert.Equal("*", off.Header("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task PlanOrigins_AreAllowedOnPreflight_ButOnTheActualResponseOnlyForThatPlansCallers()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var partnerKey = Access.TestKey.New();
        var otherKey = Access.TestKey.New();
        var yaml = $$"""
            version: 1
            services:
              api: { targets: [{{backend.Url}}], policies: { cors: { origins: ["https://app.example.com"] } } }
            routes:
              items: { methods: [GET], path: "/items/{id}", service: api }
            plans:
              partner: { include: [ { route: items } ], corsOrigins: ["https://partner.example.net"] }
              other: { include: [ { route: items } ] }
            accounts: { acme: {} }
            applications:
              p: { account: acme, plan: partner, keys: [ { sha256: {{partnerKey.Sha256}} } ] }
              o: { account: acme, plan: other, keys: [ { sha256: {{otherKey.Sha256}} } ] }
            """;
        await using var gateway = await TestGateway.StartAsync(yaml);

        var (preflight, _) = await PreflightAsync(gateway, "/items/1", "https://partner.example.net");
        var (partner, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/1", ("Origin", "https://partner.example.net"), ("X-Api-Key", partnerKey.Plaintext));
        var (other, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/1", ("Origin", "https://partner.example.net"), ("X-Api-Key", otherKey.Plaintext));

        Assert.Equal(HttpStatusCode.NoContent, preflight.StatusCode);
        Assert.Equal("https://partner.example.net", partner.Header("Access-Control-Allow-Origin"));
        Assert.Equal(HttpStatusCode.OK, other.StatusCode);
        Assert.Null(other.Header("Access-Control-Allow-Origin"));
    }
}
