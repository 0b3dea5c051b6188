using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Forwarding;

/// <summary>What reaches the client: status codes, header lists, and responses that have no body.</summary>
public sealed class ResponseForwardingTests
{
    [Theory]
    [InlineData(201)]
    [InlineData(202)]
    [InlineData(404)]
    [InlineData(409)]
    [InlineData(500)]
    [InlineData(503)]
    public async Task UpstreamStatus_IsPassedThroughWithItsBody(int status)
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.StatusCode = status;
            context.Response.ContentType = "text/plain";
            context.Response.Headers["X-From"] = "upstream";
            await context.Response.WriteAsync($"upstream says {status}");
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        using var response = await gateway.Client.GetAsync("/status");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("text/plain", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("upstream", response.Headers.GetValues("X-From").Single());
        Assert.Equal($"upstream says {status}", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task MultipleSetCookieAndRepeatedHeaders_ArriveAsSeparateValues()
    {
        // The Expires date holds a comma: joining the two cookies into one line would corrupt both.
        const string first = "session=abc123; Path=/; Expires=Wed, 21 Oct 2037 07:28:00 GMT; HttpOnly";
        const string second = "theme=dark; Path=/; SameSite=Lax";
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.Headers.Append("Set-Cookie", first);
            context.Response.Headers.Append("Set-Cookie", second);
            context.Response.Headers.Append("X-Multi", "one");
            context.Response.Headers.Append("X-Multi", "two");
            context.Response.Headers["Cache-Control"] = "no-store";
            await context.Response.WriteAsync("cookies");
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var raw = await RawRoundTrip.SendAsync(gateway.Port, "GET /cookies HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
        using var response = await gateway.Client.GetAsync("/cookies");

        Assert.Equal([first, second], response.Headers.GetValues("Set-Cookie"));
        Assert.Equal(["one", "two"], response.Headers.GetValues("X-Multi"));
        Assert.Equal("no-store", response.Headers.CacheControl!.ToString());
        var head = raw.Split("\r\n\r\n", 2)[0].Split("\r\n");
        Assert.Equal(["Set-Cookie: " + first, "Set-Cookie: " + second], head.Where(l => l.StartsWith("Set-Cookie:", StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task CompressedBody_IsPassedThroughUndecoded()
    {
        var compressed = Gzip("hello, compressed world");
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.Headers.ContentEncoding = "gzip";
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = compressed.Length;
            await context.Response.Body.WriteAsync(compressed);
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/zipped");
        request.Headers.AcceptEncoding.ParseAdd("gzip");

        using var response = await gateway.Client.SendAsync(request);

        Assert.Equal(["gzip"], response.Content.Headers.ContentEncoding);
        Assert.Equal(compressed.Length, response.Content.Headers.ContentLength);
        Assert.Equal(compressed, await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task Head_KeepsUpstreamContentLengthAndSendsNoBody()
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.ContentType = "text/plain";
            context.Response.ContentLength = 1234;
            if (!HttpMethods.IsHead(context.Request.Method))
            {
                await context.Response.WriteAsync(new string('x', 1234));
            }
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var client = SingleConnectionClient(gateway);

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/doc"));
        // Same connection: a stray body after the HEAD response would be read as the start of this one.
        using var get = await client.GetAsync("/doc");

        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.Equal(1234, head.Content.Headers.ContentLength);
        Assert.Empty(await head.Content.ReadAsByteArrayAsync());
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(new string('x', 1234), await get.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(204)]
    [InlineData(304)]
    public async Task NoContentAndNotModified_ArriveWithoutBody(int status)
    {
        await using var backend = await TestBackend.StartAsync(context =>
        {
            if (context.Request.Path == "/next")
            {
                return context.Response.WriteAsync("next");
            }

            context.Response.StatusCode = status;
            context.Response.Headers.ETag = "\"v1\"";
            return Task.CompletedTask;
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var client = SingleConnectionClient(gateway);

        var raw = await RawRoundTrip.SendAsync(gateway.Port, "GET /item HTTP/1.1\r\nHost: 127.0.0.1\r\nIf-None-Match: \"v1\"\r\nConnection: close\r\n\r\n");
        using var response = await client.GetAsync("/item");
        using var next = await client.GetAsync("/next");

        Assert.StartsWith($"HTTP/1.1 {status} ", raw, StringComparison.Ordinal);
        Assert.EndsWith("\r\n\r\n", raw, StringComparison.Ordinal);
        Assert.Null(RawRoundTrip.Header(raw, "Transfer-Encoding"));
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("\"v1\"", response.Headers.ETag!.Tag);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("next", await next.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n", 204)]
    [InlineData("HTTP/1.1 304 Not Modified\r\nETag: \"v1\"\r\nContent-Length: 1234\r\n\r\n", 304)]
    public async Task BodylessStatus_WithContentLengthFromUpstream_IsPassedWithoutBody(string upstreamResponse, int status)
    {
        // Common upstreams send Content-Length on 204 and 304 (the latter is allowed: it describes the
        // representation); the gateway must still answer with no body and keep the connection usable.
        await using var backend = RawBackend.Start(async (stream, head, ct) =>
        {
            var reply = head.StartsWith("GET /next ", StringComparison.Ordinal)
                ? "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"
                : upstreamResponse;
            await stream.WriteAsync(System.Text.Encoding.Latin1.GetBytes(reply), ct);
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var client = SingleConnectionClient(gateway);

        using var response = await client.GetAsync("/item");
        using var next = await client.GetAsync("/next");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
        Assert.Equal("next", await next.Content.ReadAsStringAsync());
    }

    private static byte[] Gzip(string text)
    {
        using var output = new MemoryStream();
        using (var gzip = new System.IO.Compression.GZipStream(output, System.IO.Compression.CompressionLevel.Fastest))
        {
            gzip.Write(System.Text.Encoding.UTF8.GetBytes(text));
        }

        return output.ToArray();
    }

    private static HttpClient SingleConnectionClient(TestGateway gateway) =>
        new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 1 })
        {
            BaseAddress = new Uri(gateway.Url),
            Timeout = TimeSpan.FromSeconds(10),
        };
}
