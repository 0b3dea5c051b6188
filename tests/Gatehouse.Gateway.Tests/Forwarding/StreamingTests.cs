using System.Net;
using System.Text;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Xunit.Abstractions;

namespace Gatehouse.Gateway.Tests.Forwarding;

/// <summary>
/// Bodies stream through the gateway: large ones without being held in memory, slow ones as they come.
/// Runs alone (<see cref="SerialCollection"/>) because it measures the process's allocations.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class StreamingTests(ITestOutputHelper output)
{
    private const long BodySize = 50L * 1024 * 1024;

    // The gateway, the backend and the client all run in this process, so the measure is the bytes the whole
    // process allocated on the managed heap while the body crossed (GC.GetTotalAllocatedBytes, precise): it
    // cannot be lowered by a collection at the wrong time, unlike heap size or working set. The client and the
    // backend here reuse one buffer each, so nearly all of it is the gateway's plus Kestrel's and
    // SocketsHttpHandler's pooled buffers. A gateway that buffered the body would allocate at least its 50 MB.
    private const long AllocationBudget = 20L * 1024 * 1024;

    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task LargeRequestBody_StreamsToUpstreamWithoutBeingBuffered()
    {
        var received = new PatternVerifier();
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            if (context.Request.Path == "/warm-up")
            {
                await context.Request.Body.CopyToAsync(Stream.Null);
                return;
            }

            await received.ReadToEndAsync(context.Request.Body);
            await context.Response.WriteAsync(received.Count.ToString());
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        await WarmUpAsync(gateway);

        // Halfway through, the client stops sending until the upstream has seen the first bytes: a gateway
        // that waited for the whole body before forwarding would never let that happen.
        var paused = false;
        var content = new PatternContent(BodySize, knownLength: true, beforeChunk: async sent =>
        {
            if (!paused && sent >= BodySize / 2)
            {
                paused = true;
                await Wait.UntilAsync(() => received.Count > 0, Patience, "the upstream to receive the first bytes while the client is still sending");
            }
        });

        var before = GC.GetTotalAllocatedBytes(precise: true);
        using var response = await gateway.Client.PostAsync("/upload", content);
        var answer = await response.Content.ReadAsStringAsync();
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        output.WriteLine($"allocated {allocated / 1024} KiB while {BodySize / 1024} KiB crossed");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(BodySize.ToString(), answer);
        Assert.True(received.Intact, "the upstream received different bytes than were sent");
        Assert.True(paused);
        Assert.True(allocated < AllocationBudget, $"the process allocated {allocated / (1024 * 1024)} MiB while a {BodySize / (1024 * 1024)} MiB request body crossed the gateway");
    }

    [Fact]
    public async Task LargeResponseBody_StreamsToClientWithoutBeingBuffered()
    {
        var delivered = new PatternVerifier();
        var paused = false;
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            if (context.Request.Path == "/warm-up")
            {
                await context.Request.Body.CopyToAsync(Stream.Null);
                return;
            }

            context.Response.ContentLength = BodySize;
            await PatternBody.WriteAsync(context.Response.Body, BodySize, async sent =>
            {
                if (!paused && sent >= BodySize / 2)
                {
                    paused = true;
                    await Wait.UntilAsync(() => delivered.Count > 0, Patience, "the client to receive the first bytes while the upstream is still sending");
                }
            });
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        await WarmUpAsync(gateway);

        var before = GC.GetTotalAllocatedBytes(precise: true);
        using var response = await gateway.Client.GetAsync("/download", HttpCompletionOption.ResponseHeadersRead);
        await delivered.ReadToEndAsync(await response.Content.ReadAsStreamAsync());
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - before;
        output.WriteLine($"allocated {allocated / 1024} KiB while {BodySize / 1024} KiB crossed");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(BodySize, response.Content.Headers.ContentLength);
        Assert.Equal(BodySize, delivered.Count);
        Assert.True(delivered.Intact, "the client received different bytes than the upstream sent");
        Assert.True(paused);
        Assert.True(allocated < AllocationBudget, $"the process allocated {allocated / (1024 * 1024)} MiB while a {BodySize / (1024 * 1024)} MiB response body crossed the gateway");
    }

    [Fact]
    public async Task EventStream_ReachesClientChunkByChunk()
    {
        var sendSecond = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var secondSent = false;
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            context.Response.ContentType = "text/event-stream";
            await context.Response.WriteAsync("data: one\n\n");
            await context.Response.Body.FlushAsync();
            await sendSecond.Task.WaitAsync(Patience);
            secondSent = true;
            await context.Response.WriteAsync("data: two\n\n");
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        using var cancel = new CancellationTokenSource(Patience);

        using var response = await gateway.Client.GetAsync("/events", HttpCompletionOption.ResponseHeadersRead, cancel.Token);
        await using var stream = await response.Content.ReadAsStreamAsync(cancel.Token);
        var first = await ReadAtLeastAsync(stream, "data: one\n\n".Length, cancel.Token);
        var secondWasSentBeforeFirstArrived = secondSent;
        sendSecond.SetResult();
        var rest = await new StreamReader(stream).ReadToEndAsync(cancel.Token);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("data: one\n\n", first);
        Assert.False(secondWasSentBeforeFirstArrived);
        Assert.Equal("data: two\n\n", rest);
    }

    [Fact]
    public async Task SlowRequestBody_ReachesUpstreamChunkByChunk()
    {
        var upstreamGotFirst = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            var buffer = new byte[64];
            var first = await context.Request.Body.ReadAsync(buffer);
            upstreamGotFirst.TrySetResult(Encoding.UTF8.GetString(buffer, 0, first));
            using var reader = new StreamReader(context.Request.Body);
            await context.Response.WriteAsync("rest:" + await reader.ReadToEndAsync());
        });
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));
        string? seenBeforeSecond = null;

        // The client sends the second part only once the upstream has read the first: a gateway that waited
        // for more bytes (a full buffer, or the end) before passing them on would never let this finish.
        var content = new CallbackContent(async stream =>
        {
            await stream.WriteAsync(Encoding.UTF8.GetBytes("first|"));
            await stream.FlushAsync();
            seenBeforeSecond = await upstreamGotFirst.Task.WaitAsync(Patience);
            await stream.WriteAsync(Encoding.UTF8.GetBytes("second"));
        });
        using var response = await gateway.Client.PostAsync("/stream-up", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("first|", seenBeforeSecond);
        Assert.Equal("rest:second", await response.Content.ReadAsStringAsync());
    }

    /// <summary>One request first, so connection set-up and JIT are not counted as the body's allocations.</summary>
    private static async Task WarmUpAsync(TestGateway gateway)
    {
        using var response = await gateway.Client.PostAsync("/warm-up", new PatternContent(PatternBody.ChunkSize * 2));
        await response.Content.ReadAsByteArrayAsync();
    }

    private static async Task<string> ReadAtLeastAsync(Stream stream, int count, CancellationToken cancellationToken)
    {
        var buffer = new byte[count];
        await stream.ReadExactlyAsync(buffer, cancellationToken);
        return Encoding.UTF8.GetString(buffer);
    }

    /// <summary>A chunked request body written by a callback, for tests that pace the client.</summary>
    private sealed class CallbackContent(Func<Stream, Task> write) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => write(stream);

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
