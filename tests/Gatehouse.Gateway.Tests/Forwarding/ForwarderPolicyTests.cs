using System.Net;
using System.Net.Sockets;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Forwarding;

/// <summary>Decisions the forwarder makes on its own: retries, early refusals, HEAD, the request id it returns.</summary>
public sealed class ForwarderPolicyTests
{
    [Fact]
    public async Task TargetRefusingConnections_RequestsWithoutBody_AreRetriedOnAnotherTarget()
    {
        await using var alive = await TestBackend.StartAsync(context => context.Response.WriteAsync("alive"));
        var dead = ClosedPort();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              svc:
                targets: [http://127.0.0.1:{{dead}}, {{alive.Url}}]
            routes:
              all: { path: "/{**rest}", service: svc }
            """);

        for (var i = 0; i < 10; i++)
        {
            var response = await gateway.Client.GetAsync($"/r{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("alive", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task TargetRefusingConnections_RequestWithBody_IsNotReplayed()
    {
        var dead = ClosedPort();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              svc: { targets: ["http://127.0.0.1:{{dead}}"] }
            routes:
              all: { path: "/{**rest}", service: svc }
            """);

        var response = await gateway.Client.PostAsync("/orders", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("upstream-unreachable", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task DeclaredContentLengthOverLimit_Gets413_WithoutOpeningAnUpstreamConnection()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway: { maxRequestBodySize: 1KB }
            services:
              svc: { targets: ["{{backend.Url}}"] }
            routes:
              all: { path: "/{**rest}", service: svc }
            """);

        var response = await RawClient.SendAsync(gateway.Port,
            "POST /upload HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\nConnection: close\r\n\r\n");

        Assert.Equal(413, response.StatusCode);
        Assert.Contains("body-too-large", response.BodyText);
        Assert.Contains("1024 bytes", response.BodyText);
        Assert.Equal(0, backend.Connections);
    }

    [Fact]
    public async Task ChunkedBodyOverLimit_Gets413NamingTheLimit()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway: { maxRequestBodySize: 1KB }
            services:
              svc: { targets: ["{{backend.Url}}"] }
            routes:
              all: { path: "/{**rest}", service: svc }
            """);

        var chunk = new string('x', 4096);
        var response = await RawClient.SendAsync(gateway.Port,
            $"POST /upload HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1000\r\n{chunk}\r\n0\r\n\r\n");

        Assert.Equal(413, response.StatusCode);
        Assert.Contains("body-too-large", response.BodyText);
        Assert.Contains("1024 bytes", response.BodyText);
    }

    /// <summary>
    /// A route's own <c>maxRequestBodySize</c> replaces the gateway's both ways: an upload route takes more, another
    /// route less; each refusal names its route's limit, declared length and chunked body alike.
    /// </summary>
    [Fact]
    public async Task ARoutesOwnBodyLimit_ReplacesTheGateways_UpAndDown()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway: { maxRequestBodySize: 1KB }
            services:
              svc: { targets: ["{{backend.Url}}"] }
            routes:
              uploads: { path: "/uploads/{**rest}", service: svc, maxRequestBodySize: 8KB }
              small: { path: "/small/{**rest}", service: svc, maxRequestBodySize: 100 }
              all: { path: "/{**rest}", service: svc }
            """);
        var body = new string('x', 5000);

        var upload = await RawClient.SendAsync(gateway.Port,
            $"POST /uploads/a HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
        var uploadChunked = await RawClient.SendAsync(gateway.Port,
            $"POST /uploads/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n1388\r\n{body}\r\n0\r\n\r\n");
        var elsewhere = await RawClient.SendAsync(gateway.Port,
            $"POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}");
        var tooLargeUpload = await RawClient.SendAsync(gateway.Port,
            $"POST /uploads/a HTTP/1.1\r\nHost: x\r\nContent-Length: 9000\r\nConnection: close\r\n\r\n");
        var small = await RawClient.SendAsync(gateway.Port,
            $"POST /small/a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n96\r\n{new string('y', 150)}\r\n0\r\n\r\n");

        Assert.Equal(200, upload.StatusCode);
        Assert.Equal(200, uploadChunked.StatusCode);
        Assert.Equal(413, elsewhere.StatusCode);
        Assert.Contains("1024 bytes", elsewhere.BodyText);
        Assert.Equal(413, tooLargeUpload.StatusCode);
        Assert.Contains("8192 bytes", tooLargeUpload.BodyText);
        Assert.Equal(413, small.StatusCode);
        Assert.Contains("100 bytes", small.BodyText);
    }

    [Fact]
    public async Task HeadOnGetRoute_IsForwarded_AndAllowListsHead()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              svc: { targets: ["{{backend.Url}}"] }
            routes:
              get: { methods: [GET], path: "/items/{id}", service: svc }
            """);

        var head = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/items/1"));
        var delete = await gateway.Client.DeleteAsync("/items/1");

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.MethodNotAllowed, delete.StatusCode);
        Assert.Equal(["GET", "HEAD"], delete.Content.Headers.Allow.Order());
    }

    [Fact]
    public async Task UpstreamSendsItsOwnRequestId_ClientGetsTheGatewaysId()
    {
        await using var backend = await TestBackend.StartAsync(context =>
        {
            context.Response.Headers["X-Request-Id"] = "made-up-by-upstream";
            return context.Response.WriteAsync("ok");
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        using var request = new HttpRequestMessage(HttpMethod.Get, "/x");
        request.Headers.Add("X-Request-Id", "client-id-1");
        var response = await gateway.Client.SendAsync(request);

        Assert.Equal("client-id-1", response.Headers.GetValues("X-Request-Id").Single());
    }

    private static int ClosedPort()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
