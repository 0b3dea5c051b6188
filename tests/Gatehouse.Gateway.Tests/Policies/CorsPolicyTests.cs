using System.Net;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Policies;
using Gatehouse.Gateway.Policies.Cors;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

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

    [Fact]
    public async Task PlanWildcard_WithCredentials_ReflectsNoOrigin_OnPreflightOrOnTheAnswer_EvenIfItGotPastValidation()
    {
        // Validation refuses this config (plans.open.corsOrigins[0]); the policy must not rely on that. Built by hand, as
        // the compiler would build it for a route with credentials granted by a plan whose corsOrigins is ["*"].
        var app = CorsOrigin.Parse("https://app.example.com", out _)!;
        var any = CorsOrigin.Parse("*", out _)!;
        var policy = new CorsPolicy([app], [app, any], "GET, HEAD", ["GET", "HEAD"], [], "", null, credentials: true, "600");
        var plan = new PlanModel("open", 0, shadow: false, LimitSet.Empty) { CorsOrigins = [any] };

        var preflight = Request("OPTIONS", "https://evil.example");
        preflight.Request.Headers.AccessControlRequestMethod = "GET";
        await policy.AnswerPreflightAsync(preflight, "r1");
        var evil = await AnswerAsync(policy, plan, "https://evil.example");
        var listed = await AnswerAsync(policy, plan, "https://app.example.com");

        Assert.Equal(StatusCodes.Status403Forbidden, preflight.Response.StatusCode);
        Assert.False(preflight.Response.Headers.ContainsKey("Access-Control-Allow-Origin"));
        Assert.False(preflight.Response.Headers.ContainsKey("Access-Control-Allow-Credentials"));
        Assert.False(evil.ContainsKey("Access-Control-Allow-Origin"));
        Assert.False(evil.ContainsKey("Access-Control-Allow-Credentials"));
        Assert.Equal("https://app.example.com", listed["Access-Control-Allow-Origin"].ToString());
        Assert.Equal("true", listed["Access-Control-Allow-Credentials"].ToString());
    }

    [Fact]
    public async Task PlanWildcard_WithoutCredentials_StillAllowsAnyOrigin()
    {
        var app = CorsOrigin.Parse("https://app.example.com", out _)!;
        var any = CorsOrigin.Parse("*", out _)!;
        var policy = new CorsPolicy([app], [app, any], "GET, HEAD", ["GET", "HEAD"], [], "", null, credentials: false, "600");
        var plan = new PlanModel("open", 0, shadow: false, LimitSet.Empty) { CorsOrigins = [any] };

        var preflight = Request("OPTIONS", "https://elsewhere.example");
        preflight.Request.Headers.AccessControlRequestMethod = "GET";
        await policy.AnswerPreflightAsync(preflight, "r1");
        var answer = await AnswerAsync(policy, plan, "https://elsewhere.example");

        Assert.Equal(StatusCodes.Status204NoContent, preflight.Response.StatusCode);
        Assert.Equal("https://elsewhere.example", preflight.Response.Headers.AccessControlAllowOrigin.ToString());
        Assert.Equal("https://elsewhere.example", answer["Access-Control-Allow-Origin"].ToString());
        Assert.False(answer.ContainsKey("Access-Control-Allow-Credentials"));
    }

    private static DefaultHttpContext Request(string method, string origin)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        context.Request.Headers.Origin = origin;
        return context;
    }

    // An actual response: the policy's headers are written by its OnStarting callback, run here as Kestrel would run it.
    private static async Task<IHeaderDictionary> AnswerAsync(CorsPolicy policy, PlanModel plan, string origin)
    {
        var context = Request("GET", origin);
        var starting = new StartingFeature(context.Features.GetRequiredFeature<IHttpResponseFeature>());
        context.Features.Set<IHttpResponseFeature>(starting);
        var exchange = new PolicyExchange(new RoutePolicies { Parameters = [], Cors = policy }, context, default(RouteCaptures), "/items/1", "r2")
        {
            Admission = new Admission(null, plan, default, null),
        };
        policy.Begin(context, exchange);
        await starting.StartAsync();
        return context.Response.Headers;
    }

    private sealed class StartingFeature(IHttpResponseFeature inner) : IHttpResponseFeature
    {
        private readonly List<(Func<object, Task> Callback, object State)> _starting = [];

        public int StatusCode { get => inner.StatusCode; set => inner.StatusCode = value; }

        public string? ReasonPhrase { get => inner.ReasonPhrase; set => inner.ReasonPhrase = value; }

        public IHeaderDictionary Headers { get => inner.Headers; set => inner.Headers = value; }

        [Obsolete("Use IHttpResponseBodyFeature")]
        public Stream Body { get => inner.Body; set => inner.Body = value; }

        public bool HasStarted { get; private set; }

        public void OnStarting(Func<object, Task> callback, object state) => _starting.Add((callback, state));

        public void OnCompleted(Func<object, Task> callback, object state)
        {
        }

        public async Task StartAsync()
        {
            for (var i = _starting.Count - 1; i >= 0; i--)
            {
                await _starting[i].Callback(_starting[i].State);
            }

            HasStarted = true;
        }
    }
}
