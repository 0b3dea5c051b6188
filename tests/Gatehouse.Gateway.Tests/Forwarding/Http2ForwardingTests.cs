using System.Net;
using System.Net.Http.Json;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gatehouse.Gateway.Tests.Forwarding;

/// <summary>HTTP/2 on either side of the gateway, and response trailers across it.</summary>
public sealed class Http2ForwardingTests
{
    private static readonly System.Text.Json.JsonSerializerOptions JsonOptions = new(System.Text.Json.JsonSerializerDefaults.Web);

    [Fact]
    public async Task H2cClient_ToHttp11Upstream_IsTranslated()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(H2cFrontYaml(backend.Url, "http1"));
        using var client = gateway.CreateClient(HttpVersion.Version20);

        using var get = await client.GetAsync("/h2/get?x=1");
        var getEcho = await get.Content.ReadFromJsonAsync<EchoResponse>();
        using var post = await client.PostAsync("/h2/post", new PatternContent(200_000, knownLength: false));
        var postEcho = await post.Content.ReadFromJsonAsync<EchoResponse>();

        Assert.Equal(HttpVersion.Version20, get.Version);
        Assert.Equal("HTTP/1.1", getEcho!.Protocol);
        Assert.Equal("/h2/get?x=1", getEcho.RawTarget);
        Assert.Equal($"127.0.0.1:{backend.Port}", getEcho.Header("Host"));
        Assert.Equal($"127.0.0.1:{gateway.Port}", getEcho.Header("X-Forwarded-Host"));
        Assert.Equal(HttpVersion.Version20, post.Version);
        Assert.Equal("HTTP/1.1", postEcho!.Protocol);
        Assert.Equal(200_000, postEcho.BodyLength);
        Assert.Equal("chunked", postEcho.Header("Transfer-Encoding"));
    }

    [Fact]
    public async Task H2cClient_SplitCookies_ReachHttp11UpstreamAsOneCookieHeader()
    {
        // HTTP/2 may carry each cookie in its own field; HTTP/1.1 allows one Cookie header, joined with "; "
        // (RFC 9113 §8.2.3). Joined with ", " the upstream would read one cookie with a mangled value.
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(H2cFrontYaml(backend.Url, "http1"));
        using var client = gateway.CreateClient(HttpVersion.Version20);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/cookies") { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        request.Headers.TryAddWithoutValidation("Cookie", ["session=abc", "theme=dark"]);

        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();

        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{(int)response.StatusCode}: {text}");
        Assert.Equal("session=abc; theme=dark", System.Text.Json.JsonSerializer.Deserialize<EchoResponse>(text, JsonOptions)!.Header("Cookie"));
    }

    [Fact]
    public async Task Http11Client_ToH2cUpstream_IsTranslated()
    {
        await using var backend = await TestBackend.StartEchoAsync(HttpProtocols.Http2);
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              backend:
                targets: [{{backend.Url}}]
                protocol: http2
            routes:
              all:
                path: /{**rest}
                service: backend
            """);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/to-h2?q=1") { Content = new PatternContent(200_000, knownLength: true) };
        request.Headers.TryAddWithoutValidation("Keep-Alive", "timeout=5");
        // Only X-Hop: when the value also holds keep-alive, close or upgrade, Kestrel (.NET 10) keeps just that
        // option in Request.Headers.Connection and the other tokens never reach the gateway.
        request.Headers.TryAddWithoutValidation("Connection", "X-Hop");
        request.Headers.TryAddWithoutValidation("X-Hop", "hop-by-hop");
        request.Headers.TryAddWithoutValidation("X-End", "end-to-end");

        using var response = await gateway.Client.SendAsync(request);
        var echo = await response.Content.ReadFromJsonAsync<EchoResponse>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(HttpVersion.Version11, response.Version);
        Assert.Equal("HTTP/2", echo!.Protocol);
        Assert.Equal("/to-h2?q=1", echo.RawTarget);
        Assert.Equal(200_000, echo.BodyLength);
        Assert.Equal("end-to-end", echo.Header("X-End"));
        Assert.Null(echo.Header("X-Hop"));
        Assert.Null(echo.Header("Keep-Alive"));
    }

    [Fact]
    public async Task Trailers_FromH2Upstream_ReachH2Client()
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.DeclareTrailer("x-checksum");
            await context.Response.WriteAsync("body before trailers");
            context.Response.AppendTrailer("x-checksum", "abc123");
            context.Response.AppendTrailer("x-items", "42");
        }, HttpProtocols.Http2);
        await using var gateway = await TestGateway.StartAsync(H2cFrontYaml(backend.Url, "http2"));
        using var client = gateway.CreateClient(HttpVersion.Version20);

        using var response = await client.GetAsync("/with-trailers");
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpVersion.Version20, response.Version);
        Assert.Equal("body before trailers", body);
        Assert.Equal("abc123", response.TrailingHeaders.GetValues("x-checksum").Single());
        Assert.Equal("42", response.TrailingHeaders.GetValues("x-items").Single());
    }

    /// <summary>A gateway whose only listener speaks h2c (prior knowledge), in front of one service.</summary>
    internal static string H2cFrontYaml(string backendUrl, string upstreamProtocol) => $$"""
        version: 1
        gateway:
          listeners:
            - url: http://127.0.0.1:0
              protocols: http2
        services:
          backend:
            targets: [{{backendUrl}}]
            protocol: {{upstreamProtocol}}
        routes:
          all:
            path: /{**rest}
            service: backend
        """;
}
