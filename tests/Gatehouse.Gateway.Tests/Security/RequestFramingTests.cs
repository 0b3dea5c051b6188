using System.Text.Json;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Security;

/// <summary>
/// Request smuggling and size limits. The gateway never copies the client's framing: it reads the body as
/// Kestrel framed it and HttpClient frames it anew for the upstream (Content-Length when known, else chunked),
/// so a framing the two ends read differently cannot carry a second request past the gateway.
/// <list type="table">
/// <listheader><term>input</term><description>client gets / upstream receives</description></listheader>
/// <item><term>two Content-Length headers (same or different), <c>Content-Length: 3, 3</c>, <c>+3</c>, <c>0x3</c>, <c>-1</c>,
/// a space before the colon, <c>Transfer-Encoding: chunked, identity</c> / <c>identity</c> / <c>xchunked</c></term>
/// <description>400 from Kestrel (empty body) / nothing</description></item>
/// <item><term><c>Content-Length: +3</c> (known gap)</term>
/// <description>Kestrel accepts it as 3, against RFC 9110 §8.6 (1*DIGIT), and exposes only the parsed number, so the gateway
/// cannot refuse it. 200 / <c>Content-Length: 3</c> and "abc"; bytes after the body are the client's next request, which the
/// gateway routes like any other. Gateway and upstream agree; only a proxy in front that reads "+3" differently could disagree.</description></item>
/// <item><term>Content-Length + <c>Transfer-Encoding: chunked</c>, a request after the final chunk (CL.TE)</term>
/// <description>Kestrel uses chunked, renames Content-Length to X-Content-Length and closes the connection after the
/// response: 200 then close / one chunked request with an empty body; the trailing request is never read</description></item>
/// <item><term>Content-Length + chunked, a request inside a chunk (TE.CL)</term>
/// <description>200 / one request whose chunked body holds those bytes as data; no second request head</description></item>
/// <item><term><c>Transfer-Encoding: identity, chunked</c>, chunk extensions, leading zeros</term>
/// <description>200 / a freshly chunked body with only <c>Transfer-Encoding: chunked</c></description></item>
/// <item><term>an invalid chunk size</term>
/// <description>400 problem+json <c>bad-body</c> / the head and no final chunk; the upstream connection is closed</description></item>
/// <item><term>headers over <c>maxRequestHeadersSize</c></term><description>431 from Kestrel / nothing</description></item>
/// <item><term>Content-Length over <c>maxRequestBodySize</c></term><description>413 problem+json <c>body-too-large</c>, without
/// waiting for the body / nothing</description></item>
/// <item><term>chunked body over <c>maxRequestBodySize</c></term><description>413 problem+json / the head and at most the limit of
/// body bytes, never a final chunk; the upstream connection is closed</description></item>
/// </list>
/// </summary>
public sealed class RequestFramingTests
{
    private const string Smuggled = "GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n";

    private static string LimitsYaml(string backendUrl) => TestGateway.SimpleYaml(backendUrl).Replace(
        "maxRequestBodySize: 100MB", "maxRequestBodySize: 1KB\n  maxRequestHeadersSize: 1KB", StringComparison.Ordinal);

    [Theory]
    [InlineData("Content-Length: 3\r\nContent-Length: 3\r\n", "abc")]
    [InlineData("Content-Length: 3\r\nContent-Length: 4\r\n", "abcd")]
    [InlineData("Content-Length: 3, 3\r\n", "abc")]
    [InlineData("Content-Length: 3, 4\r\n", "abcd")]
    [InlineData("Content-Length: 0x3\r\n", "abc")]
    [InlineData("Content-Length: -1\r\n", "abc")]
    [InlineData("Content-Length : 3\r\n", "abc")]
    [InlineData("Transfer-Encoding: chunked, identity\r\n", "3\r\nabc\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: identity\r\n", "3\r\nabc\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: xchunked\r\n", "3\r\nabc\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding : chunked\r\n", "3\r\nabc\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\nContent-Length: 3\r\nTransfer-Encoding: identity\r\n", "3\r\nabc\r\n0\r\n\r\n")]
    public async Task AmbiguousFraming_KestrelRejects400_NothingReachesUpstream(string framing, string body)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        await using var client = await RawClient.ConnectAsync(gateway.Port);
        await client.WriteAsync($"POST /framing HTTP/1.1\r\nHost: x\r\n{framing}\r\n{body}{Smuggled}");
        var response = await client.ReadResponseAsync();

        Assert.Equal(400, response.StatusCode);
        Assert.True(await client.WaitForCloseAsync(), "the connection stayed open after a framing error, so the trailing bytes could be read as a request");
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, gateway.Client);
        Assert.DoesNotContain("smuggled", backend.Received, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ContentLengthWithPlusSign_KestrelReadsIt_GatewayAndUpstreamAgreeOnFraming()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        await using var client = await RawClient.ConnectAsync(gateway.Port);
        await client.WriteAsync($"POST /framing HTTP/1.1\r\nHost: x\r\nContent-Length: +3\r\n\r\nabc{Smuggled}");
        var first = await client.ReadResponseAsync();
        var second = await client.ReadResponseAsync();

        // Both are requests the gateway parsed and routed itself; neither hides inside the other's body upstream.
        Assert.Equal(200, first.StatusCode);
        Assert.Equal(200, second.StatusCode);
        var heads = backend.RequestHeads;
        Assert.Equal(2, heads.Count);
        Assert.StartsWith("POST /framing HTTP/1.1\r\n", heads[0], StringComparison.Ordinal);
        Assert.Equal("3", UpstreamAssert.HeaderIn(heads[0], "Content-Length"));
        Assert.StartsWith("GET /smuggled HTTP/1.1\r\n", heads[1], StringComparison.Ordinal);
        Assert.Equal(heads[0] + "abc" + heads[1], backend.Received);
    }

    [Fact]
    public async Task ContentLengthAndChunked_RequestAfterFinalChunk_IsNeverRead()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        await using var client = await RawClient.ConnectAsync(gateway.Port);
        await client.WriteAsync($"POST /cl-te HTTP/1.1\r\nHost: x\r\nContent-Length: {5 + Smuggled.Length}\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n{Smuggled}");
        var response = await client.ReadResponseAsync();

        Assert.Equal(200, response.StatusCode);
        Assert.True(await client.WaitForCloseAsync(), "Kestrel keeps a CL+TE connection open; the bytes after the body could be read as a request");
        var head = Assert.Single(backend.RequestHeads);
        Assert.StartsWith("POST /cl-te HTTP/1.1\r\n", head, StringComparison.Ordinal);
        Assert.Equal("chunked", UpstreamAssert.HeaderIn(head, "Transfer-Encoding"));
        Assert.Null(UpstreamAssert.HeaderIn(head, "Content-Length"));
        Assert.Equal(head + "0\r\n\r\n", backend.Received);
    }

    [Fact]
    public async Task ContentLengthAndChunked_RequestInsideChunk_ArrivesAsBodyData()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var chunk = $"{Smuggled.Length:x}\r\n{Smuggled}\r\n0\r\n\r\n";
        var response = await RawClient.SendAsync(gateway.Port, $"POST /te-cl HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n{chunk}");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        Assert.StartsWith("POST /te-cl HTTP/1.1\r\n", head, StringComparison.Ordinal);
        Assert.Equal("chunked", UpstreamAssert.HeaderIn(head, "Transfer-Encoding"));
        Assert.Null(UpstreamAssert.HeaderIn(head, "Content-Length"));
        Assert.True(await backend.WaitForAsync(r => r.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal), RawClient.DefaultTimeout));
        Assert.Equal(Smuggled, Dechunk(backend.Received[head.Length..]));
    }

    [Theory]
    [InlineData("Transfer-Encoding: identity, chunked\r\n", "3\r\nabc\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\n", "3;name=value\r\nabc\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\n", "0003\r\nabc\r\n0\r\n\r\n")]
    [InlineData("Transfer-Encoding: chunked\r\n", "1\r\na\r\n2\r\nbc\r\n0\r\nX-Trailer: t\r\n\r\n")]
    public async Task ChunkedVariants_AreReframed_UpstreamGetsCleanChunkedBody(string framing, string body)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"POST /chunked HTTP/1.1\r\nHost: x\r\n{framing}\r\n{body}");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        UpstreamAssert.WellFormedHead(head);
        Assert.Equal("chunked", UpstreamAssert.HeaderIn(head, "Transfer-Encoding"));
        Assert.True(await backend.WaitForAsync(r => r.EndsWith("\r\n0\r\n\r\n", StringComparison.Ordinal), RawClient.DefaultTimeout));
        var upstreamBody = backend.Received[head.Length..];
        Assert.DoesNotContain(";", upstreamBody, StringComparison.Ordinal);
        Assert.Equal("abc", Dechunk(upstreamBody));
    }

    [Theory]
    [InlineData("zz\r\nabc\r\n0\r\n\r\n")]
    [InlineData("FFFFFFFFFFFFFFFFFFFF\r\nabc\r\n0\r\n\r\n")]
    [InlineData("3\r\nabcdef\r\n0\r\n\r\n")]
    [InlineData("-3\r\nabc\r\n0\r\n\r\n")]
    public async Task InvalidChunk_Gateway400Problem_UpstreamNeverGetsACompleteRequest(string body)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"POST /bad-chunk HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}{Smuggled}");

        Assert.Equal(400, response.StatusCode);
        AssertProblem(response, 400, "bad-body");
        Assert.True(await backend.WaitForAllClosedAsync(RawClient.DefaultTimeout), "the gateway kept the upstream connection of a failed request body open");
        AssertNoCompleteRequest(backend);
    }

    [Fact]
    public async Task OversizedHeaders_KestrelRejects431_NothingReachesUpstream()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(LimitsYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"GET /big HTTP/1.1\r\nHost: x\r\nX-Big: {new string('a', 2048)}\r\n\r\n");

        Assert.Equal(431, response.StatusCode);
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, gateway.Client);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task OversizedBody_ContentLength_413Problem_BeforeTheBody_NothingReachesUpstream(bool sendBody)
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(LimitsYaml(backend.Url));

        // Without the body: the answer must not wait for bytes the gateway is going to refuse anyway.
        var response = await RawClient.SendAsync(gateway.Port,
            $"POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 2048\r\n\r\n{(sendBody ? new string('a', 2048) : "")}");

        Assert.Equal(413, response.StatusCode);
        AssertProblem(response, 413, "body-too-large");
        await UpstreamAssert.OnlyCanaryArrivedAsync(backend, gateway.Client);
    }

    [Fact]
    public async Task OversizedBody_Chunked_413Problem_UpstreamNeverGetsACompleteRequest()
    {
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(LimitsYaml(backend.Url));

        var chunk = new string('a', 512);
        var body = string.Concat(Enumerable.Repeat($"200\r\n{chunk}\r\n", 4)) + "0\r\n\r\n";
        var response = await RawClient.SendAsync(gateway.Port, $"POST /big HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n{body}");

        Assert.Equal(413, response.StatusCode);
        AssertProblem(response, 413, "body-too-large");
        Assert.True(await backend.WaitForAllClosedAsync(RawClient.DefaultTimeout), "the gateway kept the upstream connection of a refused body open");
        AssertNoCompleteRequest(backend);
        var head = backend.RequestHeads.Count == 1 ? backend.RequestHeads[0] : "";
        Assert.True(backend.Received.Length - head.Length <= 1024 + (3 * 16), "more than the body limit reached the upstream");
    }

    [Fact]
    public async Task BodyAtTheLimit_IsForwardedWhole()
    {
        // The positive control for the 413 tests: exactly maxRequestBodySize bytes pass.
        await using var backend = RawBackend.StartOk();
        await using var gateway = await TestGateway.StartAsync(LimitsYaml(backend.Url));

        var response = await RawClient.SendAsync(gateway.Port, $"POST /fits HTTP/1.1\r\nHost: x\r\nContent-Length: 1024\r\n\r\n{new string('a', 1024)}");

        Assert.Equal(200, response.StatusCode);
        var head = Assert.Single(backend.RequestHeads);
        Assert.Equal("1024", UpstreamAssert.HeaderIn(head, "Content-Length"));
        Assert.True(await backend.WaitForAsync(r => r.Length == head.Length + 1024, RawClient.DefaultTimeout));
    }

    /// <summary>The upstream saw at most a request head and part of its body: no final chunk, no complete Content-Length body.</summary>
    private static void AssertNoCompleteRequest(RawBackend backend)
    {
        Assert.DoesNotContain("smuggled", backend.Received, StringComparison.Ordinal);
        var heads = backend.RequestHeads;
        if (heads.Count == 0)
        {
            return;
        }

        var head = Assert.Single(heads);
        var body = backend.Received[head.Length..];
        if (UpstreamAssert.HeaderIn(head, "Content-Length") is { } length)
        {
            Assert.True(body.Length < int.Parse(length, System.Globalization.CultureInfo.InvariantCulture), "the upstream got a complete body");
        }
        else
        {
            Assert.Equal("chunked", UpstreamAssert.HeaderIn(head, "Transfer-Encoding"));
            Assert.False(body.StartsWith("0\r\n", StringComparison.Ordinal) || body.Contains("\r\n0\r\n", StringComparison.Ordinal), "the upstream got a final chunk");
        }
    }

    private static void AssertProblem(RawResponse response, int status, string slug)
    {
        Assert.Equal("application/problem+json", response.Header("Content-Type"));
        var problem = JsonDocument.Parse(response.Body).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.Equal("urn:gatehouse:problem:" + slug, problem.GetProperty("type").GetString());
    }

    private static string Dechunk(string chunked)
    {
        var result = new System.Text.StringBuilder();
        var at = 0;
        while (true)
        {
            var lineEnd = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
            var size = Convert.ToInt32(chunked[at..lineEnd].Split(';')[0], 16);
            if (size == 0)
            {
                return result.ToString();
            }

            result.Append(chunked, lineEnd + 2, size);
            at = lineEnd + 2 + size + 2;
        }
    }
}
