using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Forwarding;

/// <summary>What reaches the upstream: methods, bodies and their framing, query strings, trace and request-id headers.</summary>
public sealed class RequestForwardingTests
{
    private static readonly UriCreationOptions Raw = new() { DangerousDisablePathAndQueryCanonicalization = true };

    [Theory]
    [InlineData("GET")]
    [InlineData("HEAD")]
    [InlineData("DELETE")]
    [InlineData("OPTIONS")]
    public async Task Method_WithoutBody_ReachesUpstreamWithoutBodyFraming(string method)
    {
        await using var backend = await StartBodyEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        using var response = await gateway.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/things/1"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(method, Single(response, "X-Echo-Method"));
        Assert.Equal("none", Single(response, "X-Echo-Content-Length"));
        Assert.Equal("none", Single(response, "X-Echo-Transfer-Encoding"));
        Assert.Equal("0", Single(response, "X-Echo-Body-Length"));
    }

    [Theory]
    [InlineData("POST", true)]
    [InlineData("POST", false)]
    [InlineData("PUT", true)]
    [InlineData("PUT", false)]
    [InlineData("PATCH", true)]
    [InlineData("PATCH", false)]
    [InlineData("DELETE", true)]
    [InlineData("DELETE", false)]
    public async Task Method_WithBody_ReachesUpstreamWithSameBytesAndFraming(string method, bool contentLength)
    {
        // Larger than one forwarding buffer (64 KiB), so the body crosses in several writes.
        const int size = 300_000;
        await using var backend = await StartBodyEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        var content = new PatternContent(size, knownLength: contentLength);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");

        using var response = await gateway.Client.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/things/1") { Content = content });
        var verifier = new PatternVerifier();
        await verifier.ReadToEndAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(method, Single(response, "X-Echo-Method"));
        Assert.Equal(contentLength ? size.ToString() : "none", Single(response, "X-Echo-Content-Length"));
        Assert.Equal(contentLength ? "none" : "chunked", Single(response, "X-Echo-Transfer-Encoding"));
        Assert.Equal("application/octet-stream", Single(response, "X-Echo-Content-Type"));
        Assert.Equal(size.ToString(), Single(response, "X-Echo-Body-Length"));
        Assert.Equal(size, verifier.Count);
        Assert.True(verifier.Intact, "the body the upstream echoed differs from the one sent");
    }

    [Fact]
    public async Task ExpectContinue_BodyStillReachesUpstream()
    {
        await using var backend = await StartBodyEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var request = new HttpRequestMessage(HttpMethod.Put, "/things/1") { Content = new PatternContent(100_000) };
        request.Headers.ExpectContinue = true;

        using var response = await gateway.Client.SendAsync(request);
        var verifier = new PatternVerifier();
        await verifier.ReadToEndAsync(await response.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(100_000, verifier.Count);
        Assert.True(verifier.Intact);
    }

    [Fact]
    public async Task Query_IsPassedOnByteForByte()
    {
        const string target = "/search?q=a+b&q=%2F%20x&empty=&flag&odd=%zz&utf=%C3%BC&semi=a;b&slash=/x/../y";
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var echo = await GetEchoAsync(gateway, target);

        Assert.Equal(target, echo.RawTarget);
    }

    [Theory]
    [InlineData("/users/a%20b", "/accounts/a%20b/profile")]
    [InlineData("/users/%C3%BC", "/accounts/%C3%BC/profile")]
    [InlineData("/users/%3F", "/accounts/%3F/profile")]
    [InlineData("/users/%3Fx=1?y=2", "/accounts/%3Fx=1/profile?y=2")]
    [InlineData("/users/%23top", "/accounts/%23top/profile")]
    [InlineData("/users/a;b", "/accounts/a%3Bb/profile")]
    [InlineData("/users/plain-id_1.2~", "/accounts/plain-id_1.2~/profile")]
    public async Task RouteParameter_IsSentUpstreamAsOneEncodedSegment(string requestTarget, string upstreamTarget)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              users:
                targets: [{{backend.Url}}]
            routes:
              user:
                path: /users/{id}
                upstreamPath: /accounts/{id}/profile
                service: users
            """);

        var echo = await GetEchoAsync(gateway, requestTarget);

        Assert.Equal(upstreamTarget, echo.RawTarget);
    }

    [Fact]
    public async Task TraceContext_IsPassedOnUnchanged()
    {
        const string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        const string tracestate = "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7";
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/traced");
        request.Headers.TryAddWithoutValidation("traceparent", traceparent);
        request.Headers.TryAddWithoutValidation("tracestate", tracestate);

        using var response = await gateway.Client.SendAsync(request);
        var echo = await response.Content.ReadFromJsonAsync<EchoResponse>();

        Assert.Equal(traceparent, echo!.Header("traceparent"));
        Assert.Equal(tracestate, echo.Header("tracestate"));
    }

    [Fact]
    public async Task RequestId_FromClient_IsKeptUpstreamAndInResponse()
    {
        const string id = "client-chosen_id.0001:abc";
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ids");
        request.Headers.Add("X-Request-Id", id);

        using var response = await gateway.Client.SendAsync(request);
        var echo = await response.Content.ReadFromJsonAsync<EchoResponse>();

        Assert.Equal(id, echo!.Header("X-Request-Id"));
        Assert.Equal(id, response.Headers.GetValues("X-Request-Id").Single());
    }

    [Theory]
    [InlineData("too-long")]
    [InlineData("with space")]
    [InlineData("with\ttab")]
    [InlineData("two-values")]
    public async Task RequestId_Invalid_IsReplacedWithAFreshOne(string kind)
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/ids");
        switch (kind)
        {
            case "too-long":
                request.Headers.TryAddWithoutValidation("X-Request-Id", new string('a', 129));
                break;
            case "two-values":
                request.Headers.TryAddWithoutValidation("X-Request-Id", ["first", "second"]);
                break;
            default:
                request.Headers.TryAddWithoutValidation("X-Request-Id", kind);
                break;
        }

        using var response = await gateway.Client.SendAsync(request);
        var echo = await response.Content.ReadFromJsonAsync<EchoResponse>();

        var upstreamId = echo!.Header("X-Request-Id");
        Assert.Matches("^[0-9a-f]{32}$", upstreamId);
        Assert.Equal(upstreamId, response.Headers.GetValues("X-Request-Id").Single());
    }

    [Theory]
    [InlineData("abc\u0001def")]
    [InlineData("abc\u007fdef")]
    public async Task RequestId_WithControlCharacters_IsReplaced(string id)
    {
        // HttpClient will not send these; Kestrel accepts them in a header value, the gateway must not pass them on.
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await RawRoundTrip.SendAsync(gateway.Port,
            $"GET /ids HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Request-Id: {id}\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200 ", response, StringComparison.Ordinal);
        var replacement = RawRoundTrip.Header(response, "X-Request-Id");
        Assert.Matches("^[0-9a-f]{32}$", replacement);
        Assert.Equal(replacement, RawRoundTrip.Header(backend.Received, "X-Request-Id"));
        Assert.DoesNotContain(id, backend.Received, StringComparison.Ordinal);
    }

    private static async Task<EchoResponse> GetEchoAsync(TestGateway gateway, string target)
    {
        Assert.True(Uri.TryCreate(gateway.Url + target, in Raw, out var uri));
        using var response = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Get, uri));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<EchoResponse>())!;
    }

    private static string Single(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.Single() : throw new Xunit.Sdk.XunitException($"response has no {name} header");

    /// <summary>Echoes the request body back and reports method and body framing in response headers.</summary>
    private static Task<TestBackend> StartBodyEchoAsync() => TestBackend.StartAsync(async context =>
    {
        var request = context.Request;
        var response = context.Response;
        using var body = new MemoryStream();
        await request.Body.CopyToAsync(body);
        response.Headers["X-Echo-Method"] = request.Method;
        response.Headers["X-Echo-Content-Length"] = request.Headers.ContentLength?.ToString() ?? "none";
        response.Headers["X-Echo-Transfer-Encoding"] = request.Headers.TransferEncoding is { Count: > 0 } te ? te.ToString() : "none";
        response.Headers["X-Echo-Content-Type"] = request.ContentType ?? "none";
        response.Headers["X-Echo-Body-Length"] = body.Length.ToString();
        if (!HttpMethods.IsHead(request.Method))
        {
            await response.Body.WriteAsync(body.GetBuffer().AsMemory(0, (int)body.Length));
        }
    });
}
