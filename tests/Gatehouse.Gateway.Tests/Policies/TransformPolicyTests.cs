using System.Net;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>Issue 23, transforms: headers, path, query, status and JSON bodies changed on the way, every value checked.</summary>
[Trait("Issue", "23")]
public sealed class TransformPolicyTests
{
    private static readonly TestKey Key = TestKey.New();

    private static string Yaml(string backend, string transform) => Document(backend, transform.Replace("\n", "\n          ", StringComparison.Ordinal));

    private static string Document(string backend, string transform) => $$"""
        version: 1
        services:
          api: { targets: [{{backend}}] }
        routes:
          items:
            methods: [GET]
            path: "/items/{id}"
            service: api
            policies:
              transform: {{transform}}
        plans:
          retail: { include: [ { path: "/**" } ] }
        accounts: { acme: {} }
        applications:
          shop: { account: acme, plan: retail, keys: [ { sha256: {{Key.Sha256}} } ] }
        """;

    [Fact]
    public async Task RequestTransforms_SetAddRemoveHeaders_RewriteThePath_AndSetAndRemoveQueryParameters()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, """
            { request: {
                headers: { set: { X-App: "@request.application", X-Plan: "@request.plan", X-Literal: "@@home" }, add: { X-Id: "@request.path.id" }, remove: [X-Debug] },
                path: "/v2/{@request.application}/things/{id}",
                query: { set: { lang: "@request.headers.Accept-Language" }, remove: [secret] } } }
            """));

        var (response, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/a%20b?secret=1&keep=2&lang=xx",
            ("X-Api-Key", Key.Plaintext), ("X-Debug", "1"), ("Accept-Language", "fr CA"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(backend.Seen);
        Assert.Equal("/v2/shop/things/a%20b?keep=2&lang=fr%20CA", seen.Target);
        Assert.Equal("shop", seen.Headers["X-App"]);
        Assert.Equal("retail", seen.Headers["X-Plan"]);
        Assert.Equal("@home", seen.Headers["X-Literal"]);
        Assert.Equal("a b", seen.Headers["X-Id"]);
        Assert.False(seen.Headers.ContainsKey("X-Debug"));
    }

    [Theory]
    [InlineData("?secret=1&keep=2", "?keep=2")]
    [InlineData("?Secret=1&keep=2", "?keep=2")]
    [InlineData("?SECRET=1&keep=2", "?keep=2")]
    [InlineData("?%73ecret=1&keep=2", "?keep=2")]
    [InlineData("?%53ECRET=1&keep=2", "?keep=2")]
    [InlineData("?se%63ret&keep=2", "?keep=2")]
    [InlineData("?keep=2;secret=1", "?keep=2")]
    [InlineData("?keep=2;Secret=1;more=3", "?keep=2;more=3")]
    [InlineData("?secret=1;keep=2", "?keep=2")]
    [InlineData("?keep=2;%73ecret=1&secret=3", "?keep=2")]
    [InlineData("?secret=1;SECRET=2", "")]
    [InlineData("?keep=2&Lang=en&LANG=de;x=1", "?keep=2&x=1")]
    [InlineData("?keep=2;lang=en", "?keep=2")]
    [InlineData("?%6Cang=en&keep=2", "?keep=2")]
    [InlineData("?secret[]=1&keep=2", "?keep=2")]
    [InlineData("?secret%5B%5D=1&secret%5Ba%5D=2&keep=2", "?keep=2")]
    [InlineData("?+secret=1&%20Secret%20=2&keep=2", "?keep=2")]
    [InlineData("?a=1;b=2&secrets=1&c%3Bsecret=1&secrets[]=1&[secret]=1", "?a=1;b=2&secrets=1&c%3Bsecret=1&secrets[]=1&[secret]=1")]
    public async Task QueryRemoveAndSet_TakeTheClientsParameterOut_InEverySpelling(string query, string kept)
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "{ request: { query: { set: { lang: fr }, remove: [secret] } } }"));

        var (response, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/1" + query, ("X-Api-Key", Key.Plaintext));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        // What the client sent and the transform neither removes nor sets goes on as it was; 'set' adds its one value last.
        Assert.Equal("/items/1" + (kept.Length == 0 ? "?" : kept + "&") + "lang=fr", Assert.Single(backend.Seen).Target);
    }

    [Fact]
    public async Task SetAndRemove_ReplaceTheClientsOwnHeaders_InAnyCase_AndAnUnderscoreSpellingIsNoWayAround()
    {
        await using var backend = await RecordingBackend.StartAsync();
        var yaml = Yaml(backend.Url, """{ request: { headers: { set: { X-App: "@request.application" }, remove: [X-Debug] } } }""")
            .Replace("version: 1\n", "version: 1\ngateway: { forwardUnderscoreHeaders: true }\n", StringComparison.Ordinal);
        await using var gateway = await TestGateway.StartAsync(yaml);

        var (response, _) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/1",
            ("X-Api-Key", Key.Plaintext), ("x-app", "forged"), ("x-debug", "1"), ("X_Debug", "2"), ("X_Other", "3"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(backend.Seen);
        Assert.Equal("shop", seen.Headers["X-App"]);
        // WSGI, PHP and Rack read X_Debug as X-Debug: removing X-Debug removes it in that spelling too.
        Assert.DoesNotContain(seen.Headers.Keys, k => k.Replace('_', '-').Equals("X-Debug", StringComparison.OrdinalIgnoreCase));
        Assert.Equal("3", seen.Headers["X_Other"]);
    }

    [Theory]
    [InlineData("/items/1?v=a%0D%0AX-Injected:%201")]
    [InlineData("/items/1?v=a%00b")]
    [InlineData("/items/1?v=caf%C3%A9")]
    public async Task AReferenceResolvingToUnsafeCharacters_NeverReachesTheService(string path)
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, """{ request: { headers: { set: { X-V: "@request.query.v" } } } }"""));

        var (response, body) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, path, ("X-Api-Key", Key.Plaintext));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("bad-header", body, StringComparison.Ordinal);
        Assert.Equal(0, backend.Count);
    }

    [Fact]
    public async Task ResponseTransforms_MapTheStatus_SetAndRemoveHeaders_AndReshapeTheJsonBody()
    {
        await using var backend = await RecordingBackend.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = 203;
            context.Response.Headers["X-Internal"] = "secret";
            context.Response.Headers.ETag = "\"abc\"";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"id\":7,\"name\":\"Tea\",\"cost\":3,\"internalNotes\":\"do not show\"}");
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, """
            { response: {
                status: { 203: 200 },
                headers: { remove: [X-Internal], set: { X-Served-For: "@request.application" } },
                body: { "@value": "@response.body", "@omit": [internalNotes], "@rename": { cost: price }, "by": "@request.plan" } } }
            """));

        var (response, body) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/7", ("X-Api-Key", Key.Plaintext));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(response.Header("X-Internal"));
        Assert.Null(response.Header("ETag"));
        Assert.Equal("shop", response.Header("X-Served-For"));
        // Written keys first, then @omit and @rename; a renamed field moves to the end (docs/compositions.md).
        Assert.Equal("{\"id\":7,\"name\":\"Tea\",\"by\":\"retail\",\"price\":3}", body);
        Assert.Equal(body.Length, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task BodyReshape_OfABodyThatIsNotJson_IsA502_NeverTheUnshapedBody()
    {
        await using var backend = await RecordingBackend.StartAsync(async (context, _) =>
        {
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("{\"secret\": \"x\"");
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, """{ response: { body: { "@value": "@response.body", "@omit": [secret] } } }"""));

        var (response, body) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/7", ("X-Api-Key", Key.Plaintext));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("transform-failed", body, StringComparison.Ordinal);
        Assert.DoesNotContain("\"x\"", body, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("text/html; charset=utf-8")]
    [InlineData(null)]
    public async Task BodyReshape_OfA2xxAnswerThatIsNotJson_IsA502_Logged_NeverTheUnshapedBody(string? contentType)
    {
        await using var backend = await RecordingBackend.StartAsync(async (context, _) =>
        {
            if (contentType is not null)
            {
                context.Response.ContentType = contentType;
            }

            await context.Response.WriteAsync("{\"id\":1,\"secret\":\"s3cret\"}");
        });
        using var logs = new CapturingLoggerProvider();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, """{ response: { body: { "@value": "@response.body", "@omit": [secret] } } }"""), logs: logs);

        var (response, body) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/7", ("X-Api-Key", Key.Plaintext));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("transform-failed", body, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", body, StringComparison.Ordinal);
        var logged = await logs.WaitForAsync(e => e.Level == LogLevel.Warning && e.Message.Contains("transform-failed", StringComparison.Ordinal), TimeSpan.FromSeconds(5));
        Assert.Contains("Route items", logged.Message, StringComparison.Ordinal);
        Assert.Contains(contentType is null ? "no Content-Type" : contentType, logged.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", logged.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task BodyReshape_PassesAnswersWithoutABody_AndAnswersThatAreNot2xx_AsTheyAre()
    {
        await using var backend = await RecordingBackend.StartAsync(async (context, _) =>
        {
            if (context.Request.Path == "/items/204")
            {
                context.Response.StatusCode = 204;
                return;
            }

            context.Response.StatusCode = 404;
            context.Response.ContentType = "text/plain";
            await context.Response.WriteAsync("no such item");
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, """{ response: { body: { "@value": "@response.body", "@omit": [secret] } } }"""));

        var (empty, emptyBody) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/204", ("X-Api-Key", Key.Plaintext));
        var (missing, missingBody) = await PolicyHttp.SendAsync(gateway.Client, HttpMethod.Get, "/items/404", ("X-Api-Key", Key.Plaintext));

        Assert.Equal(HttpStatusCode.NoContent, empty.StatusCode);
        Assert.Equal("", emptyBody);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("no such item", missingBody);
    }
}
