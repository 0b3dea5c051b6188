using System.Diagnostics;
using System.Net;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace Gatehouse.Gateway.Tests.Forwarding;

/// <summary>
/// A route's <c>timeout</c> is for the upstream's answer, not for the client's upload: a streamed body that takes longer
/// than the timeout reaches an upstream that takes it, the upstream still has only the timeout to answer once the body
/// is in, and a duplex stream whose answer has begun is not cut when its request side goes quiet.
/// </summary>
public sealed class UploadDeadlineTests
{
    private static string Yaml(string backend, string protocol = "http1", string front = "", string timeout = "1s") => $$"""
        version: 1
        gateway:
          listeners:
            - url: http://127.0.0.1:0
              {{front}}
        services:
          files:
            targets: [{{backend}}]
            protocol: {{protocol}}
            timeout: {{timeout}}
        routes:
          files: { path: "/files/{**rest}", service: files }
        """;

    /// <summary>A body written in <paramref name="chunks"/> pieces of 1 KB with <paramref name="pause"/> before each (unknown length).</summary>
    private sealed class SlowContent(int chunks, TimeSpan pause, Func<int, TimeSpan>? pauseBefore = null) : HttpContent
    {
        public long? FinishedAt { get; private set; }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
        {
            var chunk = new byte[1024];
            for (var i = 0; i < chunks; i++)
            {
                await Task.Delay(pauseBefore?.Invoke(i) ?? pause, cancellationToken);
                chunk.AsSpan().Fill((byte)('a' + i));
                await stream.WriteAsync(chunk, cancellationToken);
                await stream.FlushAsync(cancellationToken);
            }

            FinishedAt = Stopwatch.GetTimestamp();
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }

    private static async Task<long> ReadAllAsync(HttpContext context)
    {
        var buffer = new byte[4096];
        long total = 0;
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
        {
            total += read;
        }

        return total;
    }

    [Fact]
    public async Task AnUploadLongerThanTheTimeout_ReachesAnUpstreamThatTakesIt()
    {
        await using var backend = await TestBackend.StartAsync(async context => await context.Response.WriteAsync($"got {await ReadAllAsync(context)}"));
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, timeout: "4s"));

        // Twelve pieces 400 ms apart: 4.8 s of upload against a 4 s timeout (without the re-arming it is cut at 4 s).
        // The deadline is re-armed at most every second (a quarter of the timeout), so it runs at least 3 s past each
        // piece: a 400 ms pause has 2.6 s to spare. With a 1 s timeout it had 350 ms and a CI run lost them; with 2 s
        // it had 1.1 s, and a CI run with every test project busy on two cores lost those too.
        using var response = await gateway.Client.PostAsync("/files/upload", new SlowContent(12, TimeSpan.FromMilliseconds(400)));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("got 12288", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task OnceTheBodyIsIn_TheUpstreamStillHasOnlyTheTimeoutToAnswer()
    {
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            await ReadAllAsync(context);
            await Task.Delay(TimeSpan.FromSeconds(10), context.RequestAborted);
        });
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url));
        var content = new SlowContent(5, TimeSpan.FromMilliseconds(400));

        using var response = await gateway.Client.PostAsync("/files/upload", content);
        var answered = Stopwatch.GetTimestamp();

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        // The timeout (1 s, re-armed to within a second) counted from the body's end: well before the upstream's 10 s.
        Assert.InRange(Stopwatch.GetElapsedTime(content.FinishedAt!.Value, answered), TimeSpan.Zero, TimeSpan.FromSeconds(4));
    }

    [Fact]
    public async Task ADuplexStream_WhoseAnswerHasBegun_IsNotCutWhenItsRequestSidePauses()
    {
        // The upstream answers at once and echoes each piece as it comes (HTTP/2 both sides: full duplex).
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.ContentType = "text/plain";
            await context.Response.StartAsync();
            var buffer = new byte[4096];
            int read;
            while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
            {
                await context.Response.Body.WriteAsync(buffer.AsMemory(0, read));
                await context.Response.Body.FlushAsync();
            }
        }, HttpProtocols.Http2);
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "http2", "protocols: http2"));
        using var client = gateway.CreateClient(HttpVersion.Version20);

        // Pieces 1.2 s apart (the request side keeps moving, each re-arm lands), then 2.5 s of quiet before the last.
        var content = new SlowContent(4, TimeSpan.Zero, i => i switch { 0 => TimeSpan.Zero, 3 => TimeSpan.FromSeconds(2.5), _ => TimeSpan.FromSeconds(1.2) });
        using var request = new HttpRequestMessage(HttpMethod.Post, "/files/stream") { Content = content, Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact };
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        var echoed = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(4096, echoed.Length);
        Assert.Equal((byte)'d', echoed[^1]);
    }
}
