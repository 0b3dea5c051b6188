using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Security;

/// <summary>
/// Upstream failures. The client must be able to tell a failed response from a good one: before the response
/// starts it gets a problem+json status; after, the response is aborted and never ends as if complete.
/// <list type="table">
/// <listheader><term>failure</term><description>client sees</description></listheader>
/// <item><term>nothing listening on the target</term><description>502 problem+json <c>upstream-unreachable</c></description></item>
/// <item><term>the upstream answers something that is not HTTP</term><description>502 problem+json <c>upstream-unreachable</c></description></item>
/// <item><term>101 Switching Protocols to a request that did not ask to upgrade</term><description>502 problem+json
/// <c>bad-upstream-response</c> (before: the 101 was passed on and the client connection hung)</description></item>
/// <item><term>no response headers within the route's timeout</term><description>504 problem+json <c>upstream-timeout</c>, and the upstream
/// call is cancelled</description></item>
/// <item><term>the upstream closes or resets after 10 of 1000 Content-Length bytes</term><description>a response cut short: fewer bytes
/// than its Content-Length and the connection ended; HttpClient throws reading the body (HTTP/1.1 and HTTP/2)</description></item>
/// <item><term>the upstream closes in the middle of a chunked body</term><description>no terminating 0-chunk</description></item>
/// <item><term>the client goes away while the upstream is working (before or during the response body)</term><description>the upstream
/// request is aborted</description></item>
/// </list>
/// </summary>
public sealed class UpstreamFailureTests
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task UpstreamDown_502Problem()
    {
        var url = UnusedLoopbackUrl();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(url));

        var response = await gateway.Client.GetAsync("/down");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await AssertProblemAsync(response, 502, "upstream-unreachable");
    }

    [Fact]
    public async Task UpstreamAnswersGarbage_502Problem()
    {
        await using var backend = RawBackend.Start(async (stream, _, ct) =>
        {
            await stream.WriteAsync("SSH-2.0-OpenSSH_9.6\r\n\r\n"u8.ToArray(), ct);
            stream.Socket.Close();
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await gateway.Client.GetAsync("/garbage");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await AssertProblemAsync(response, 502, "upstream-unreachable");
    }

    [Fact]
    public async Task UpstreamSwitchesProtocolsUnasked_502Problem()
    {
        await using var backend = RawBackend.Start(async (stream, _, ct) =>
            await stream.WriteAsync("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\nnot http"u8.ToArray(), ct));
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await gateway.Client.GetAsync("/plain");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        await AssertProblemAsync(response, 502, "bad-upstream-response");
        Assert.DoesNotContain("not http", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task UpstreamSlow_504ProblemWithinTimeout_UpstreamCallCancelled()
    {
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.RequestAborted.Register(() => aborted.TrySetResult());
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url, timeout: "500ms"));

        var clock = Stopwatch.StartNew();
        var response = await gateway.Client.GetAsync("/slow");
        clock.Stop();

        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        await AssertProblemAsync(response, 504, "upstream-timeout");
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"answered after {clock.Elapsed}, long after the 500ms timeout");
        await aborted.Task.WaitAsync(Bounded);
    }

    [Fact]
    public async Task Deadlines_AfterTimeoutsAndAbortedClients_StillTimeOutOnTime_AndNeverCancelARequestEarly()
    {
        // Each request's deadline is its own: after requests that timed out or whose client left, others still time out
        // on time and are never cancelled early (a guard for any pooling or reuse of the deadline's source).
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            switch (context.Request.Path.Value)
            {
                case "/slow":
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                    break;
                case "/medium":
                    await Task.Delay(TimeSpan.FromMilliseconds(500), context.RequestAborted);
                    await context.Response.WriteAsync("medium");
                    break;
                default:
                    await context.Response.WriteAsync("fast");
                    break;
            }
        });
        // 2 s, not 1 s: eight medium requests at once had 750 ms to spare, and a loaded machine took more (all eight 504,
        // 1 run in 8 with both cores busy). They still take a quarter of the timeout.
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url, timeout: "2s"));

        for (var round = 0; round < 3; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ => Assert.Equal("fast", await gateway.Client.GetStringAsync("/fast"))));
            var clock = Stopwatch.StartNew();
            var slow = await gateway.Client.GetAsync("/slow");
            Assert.Equal(HttpStatusCode.GatewayTimeout, slow.StatusCode);
            Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(1900), TimeSpan.FromSeconds(8));

            using (var gone = new CancellationTokenSource(TimeSpan.FromMilliseconds(100)))
            {
                await Assert.ThrowsAnyAsync<OperationCanceledException>(() => gateway.Client.GetAsync("/slow", gone.Token));
            }

            // Each of these takes a quarter of the timeout: a reused deadline that fired early would make one a 504.
            var medium = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => gateway.Client.GetAsync("/medium")));
            Assert.All(medium, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UpstreamDiesMidBody_ContentLength_RawClientSeesTruncatedAbortedResponse(bool reset)
    {
        await using var backend = RawBackend.Start(TenOfThousandBytesThenDie(reset));
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        await using var client = await RawClient.ConnectAsync(gateway.Port);
        await client.WriteAsync("GET /mid-body HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await client.ReadResponseAsync(Bounded);

        Assert.False(response.Complete, $"a truncated response looked complete: {UpstreamAssert.Escape(response.Raw)}");
        Assert.True(client.ServerClosed, "the gateway left the client connection open after an upstream failure mid-body");
        if (response.StatusCode != 0)
        {
            Assert.Equal(200, response.StatusCode);
            Assert.True(response.Body.Length < 1000);
            Assert.True(response.Header("Content-Length") == "1000" || response.Header("Transfer-Encoding") == "chunked");
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task UpstreamDiesMidBody_HttpClientThrowsReadingTheBody(bool http2)
    {
        await using var backend = RawBackend.Start(TenOfThousandBytesThenDie(reset: true));
        var yaml = TestGateway.SimpleYaml(backend.Url);
        if (http2)
        {
            yaml = yaml.Replace("gateway:\n", "gateway:\n  listeners: [{url: \"http://127.0.0.1:0\", protocols: http2}]\n", StringComparison.Ordinal);
        }

        await using var gateway = await TestGateway.StartAsync(yaml);
        using var client = http2 ? gateway.CreateHttp2Client() : null;
        var http = client ?? gateway.Client;

        // Either the headers already went out (then the body read fails) or the failure came first (then the
        // send fails); what must not happen is a body that reads to its end as if complete.
        var error = await Record.ExceptionAsync(async () =>
        {
            using var response = await http.GetAsync("/mid-body", HttpCompletionOption.ResponseHeadersRead);
            await response.Content.ReadAsByteArrayAsync();
        });

        Assert.True(error is HttpRequestException or IOException, $"expected the body read to fail, got {error?.GetType().Name ?? "a complete body"}");
    }

    [Fact]
    public async Task UpstreamClosesMidChunkedBody_ClientNeverSeesTheFinalChunk()
    {
        await using var backend = RawBackend.Start(async (stream, _, ct) =>
        {
            await stream.WriteAsync("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\na\r\n0123456789\r\n"u8.ToArray(), ct);
            await stream.FlushAsync(ct);
            stream.Socket.Shutdown(SocketShutdown.Send); // an orderly close, in the middle of the body
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        await using var client = await RawClient.ConnectAsync(gateway.Port);
        await client.WriteAsync("GET /mid-chunk HTTP/1.1\r\nHost: x\r\n\r\n");
        var response = await client.ReadResponseAsync(Bounded);

        Assert.False(response.Complete, $"a truncated chunked response looked complete: {UpstreamAssert.Escape(response.Raw)}");
        Assert.DoesNotContain("\r\n0\r\n\r\n", response.Raw, StringComparison.Ordinal);
        Assert.True(client.ServerClosed);
    }

    [Fact]
    public async Task ClientDisconnectsWhileUpstreamWorks_UpstreamCallIsCancelled()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.RequestAborted.Register(() => aborted.TrySetResult());
            started.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var client = await RawClient.ConnectAsync(gateway.Port);
        await client.WriteAsync("GET /slow HTTP/1.1\r\nHost: x\r\n\r\n");
        await started.Task.WaitAsync(Bounded);
        await client.DisposeAsync();

        await aborted.Task.WaitAsync(Bounded);
    }

    [Fact]
    public async Task ClientDisconnectsDuringStreamingBody_UpstreamCallIsCancelled()
    {
        var firstChunkSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aborted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.RequestAborted.Register(() => aborted.TrySetResult());
            await context.Response.WriteAsync("first chunk", context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            firstChunkSent.TrySetResult();
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var client = await RawClient.ConnectAsync(gateway.Port);
        await client.WriteAsync("GET /stream HTTP/1.1\r\nHost: x\r\n\r\n");
        await firstChunkSent.Task.WaitAsync(Bounded);
        client.Abort();
        await client.DisposeAsync();

        await aborted.Task.WaitAsync(Bounded);
    }

    private static Func<NetworkStream, string, CancellationToken, Task> TenOfThousandBytesThenDie(bool reset) => async (stream, _, ct) =>
    {
        await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\nContent-Type: application/octet-stream\r\n\r\n0123456789"u8.ToArray(), ct);
        await stream.FlushAsync(ct);
        if (reset)
        {
            stream.Socket.LingerState = new LingerOption(true, 0);
            stream.Socket.Close();
        }
        else
        {
            stream.Socket.Shutdown(SocketShutdown.Send);
        }
    };

    /// <summary>A loopback URL where nothing listens: a port the OS handed out and that was closed again.</summary>
    private static string UnusedLoopbackUrl()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return $"http://127.0.0.1:{port}";
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, int status, string slug)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal("urn:gatehouse:problem:" + slug, problem.GetProperty("type").GetString());
    }
}
