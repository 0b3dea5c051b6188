using System.Buffers.Binary;
using System.Diagnostics;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.Policies;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>
/// A listener behind a TCP load balancer (<c>proxyProtocol: true</c>): the PROXY protocol header's client is the
/// connection's client; connections from elsewhere, or without a good header, are closed before HTTP. Real HAProxy
/// (<c>send-proxy</c>, <c>send-proxy-v2</c>) is the oracle for what a balancer sends.
/// </summary>
public sealed class ProxyProtocolTests
{
    private static string Yaml(string backend, string trusted, string url = "http://127.0.0.1:0", string certificate = "") => $$"""
        version: 1
        gateway:
          trustedProxies: [{{trusted}}]
          listeners:
            - url: {{url}}
              proxyProtocol: true
              {{certificate}}
        services:
          api: { targets: [{{backend}}] }
        routes:
          all: { path: "/{**rest}", service: api }
        """;

    // ---- the header itself ----

    [Theory]
    [InlineData("PROXY TCP4 203.0.113.7 10.0.0.1 51000 443\r\n", "203.0.113.7:51000")]
    [InlineData("PROXY TCP6 2001:db8::7 2001:db8::1 51000 443\r\n", "[2001:db8::7]:51000")]
    [InlineData("PROXY UNKNOWN\r\n", null)]
    [InlineData("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", null)]
    public void V1_Parsed(string header, string? source)
    {
        var bytes = Encoding.ASCII.GetBytes(header + "GET / HTTP/1.1\r\n");

        var outcome = ProxyProtocolHeader.TryParse(bytes, out var consumed, out _, out var endpoint, out var reason);

        Assert.Equal(ProxyProtocolHeader.Outcome.Parsed, outcome);
        Assert.Null(reason);
        Assert.Equal(header.Length, consumed);
        Assert.Equal(source, endpoint?.ToString());
    }

    [Theory]
    [InlineData("GET / HTTP/1.1\r\n")]
    [InlineData("PROXY TCP4 203.0.113.7 10.0.0.1 51000\r\n")]
    [InlineData("PROXY TCP4 2001:db8::7 10.0.0.1 51000 443\r\n")]
    [InlineData("PROXY TCP6 203.0.113.7 10.0.0.1 51000 443\r\n")]
    [InlineData("PROXY TCP4 203.0.113.7 10.0.0.1 65536 443\r\n")]
    [InlineData("PROXY TCP4 203.0.113.7 10.0.0.1 051000 443\r\n")]
    [InlineData("PROXY UDP4 203.0.113.7 10.0.0.1 51000 443\r\n")]
    [InlineData("proxy TCP4 203.0.113.7 10.0.0.1 51000 443\r\n")]
    public void V1_Malformed_IsInvalid(string header)
    {
        var outcome = ProxyProtocolHeader.TryParse(Encoding.ASCII.GetBytes(header), out _, out _, out var endpoint, out var reason);

        Assert.Equal(ProxyProtocolHeader.Outcome.Invalid, outcome);
        Assert.Null(endpoint);
        Assert.False(string.IsNullOrEmpty(reason));
    }

    [Fact]
    public void V1_WithoutCrlfWithin107Bytes_IsInvalid_AndShorterIsIncomplete()
    {
        var line = "PROXY TCP4 " + new string('1', 200);

        Assert.Equal(ProxyProtocolHeader.Outcome.Invalid, ProxyProtocolHeader.TryParse(Encoding.ASCII.GetBytes(line), out _, out _, out _, out _));
        Assert.Equal(ProxyProtocolHeader.Outcome.Incomplete, ProxyProtocolHeader.TryParse(Encoding.ASCII.GetBytes(line[..60]), out _, out _, out _, out _));
        Assert.Equal(ProxyProtocolHeader.Outcome.Incomplete, ProxyProtocolHeader.TryParse("PRO"u8, out _, out _, out _, out _));
    }

    [Fact]
    public void V2_Ipv4WithTlvs_Ipv6_Local_AndEveryShorterPrefixIsIncomplete()
    {
        var tlv = new byte[] { 0xEA, 0x00, 0x05, 1, 2, 3, 4, 5 }; // PP2_TYPE_AWS-like: skipped
        var ipv4 = V2(command: 1, family: 1, IPAddress.Parse("203.0.113.7"), IPAddress.Parse("10.0.0.1"), 51000, 443, tlv);
        var ipv6 = V2(command: 1, family: 2, IPAddress.Parse("2001:db8::7"), IPAddress.Parse("2001:db8::1"), 51000, 443, []);
        var local = V2(command: 0, family: 1, IPAddress.Parse("10.9.9.9"), IPAddress.Parse("10.0.0.1"), 1, 2, []);

        Assert.Equal("203.0.113.7:51000", ParsedSource(ipv4));
        Assert.Equal("[2001:db8::7]:51000", ParsedSource(ipv6));
        Assert.Null(ParsedSource(local));
        for (var n = 0; n < ipv4.Length; n++)
        {
            Assert.Equal(ProxyProtocolHeader.Outcome.Incomplete, ProxyProtocolHeader.TryParse(ipv4.AsSpan(0, n), out _, out _, out _, out _));
        }
    }

    [Fact]
    public void V2_BadVersionCommandOrShortAddresses_IsInvalid()
    {
        var good = V2(command: 1, family: 1, IPAddress.Parse("203.0.113.7"), IPAddress.Parse("10.0.0.1"), 1, 2, []);
        var version1 = (byte[])good.Clone();
        version1[12] = 0x11;
        var command2 = (byte[])good.Clone();
        command2[12] = 0x22;
        var family9 = (byte[])good.Clone();
        family9[13] = 0x91;
        var shortBlock = good[..16].Concat(new byte[6]).ToArray();
        BinaryPrimitives.WriteUInt16BigEndian(shortBlock.AsSpan(14), 6);

        foreach (var header in new[] { version1, command2, family9, shortBlock })
        {
            Assert.Equal(ProxyProtocolHeader.Outcome.Invalid, ProxyProtocolHeader.TryParse(header, out _, out _, out _, out var reason));
            Assert.False(string.IsNullOrEmpty(reason));
        }
    }

    private static string? ParsedSource(byte[] header)
    {
        var withRequest = header.Concat("GET / HTTP/1.1\r\n"u8.ToArray()).ToArray();
        Assert.Equal(ProxyProtocolHeader.Outcome.Parsed, ProxyProtocolHeader.TryParse(withRequest, out var consumed, out _, out var source, out _));
        Assert.Equal(header.Length, consumed);
        return source?.ToString();
    }

    private static byte[] V2(int command, int family, IPAddress source, IPAddress destination, ushort sourcePort, ushort destinationPort, byte[] tlvs)
    {
        var addresses = source.GetAddressBytes().Concat(destination.GetAddressBytes()).ToList();
        addresses.AddRange([(byte)(sourcePort >> 8), (byte)sourcePort, (byte)(destinationPort >> 8), (byte)destinationPort]);
        addresses.AddRange(tlvs);
        var header = new List<byte> { 0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, (byte)(0x20 | command), (byte)((family << 4) | 1) };
        header.AddRange([(byte)(addresses.Count >> 8), (byte)addresses.Count]);
        header.AddRange(addresses);
        return [.. header];
    }

    // ---- through a real gateway ----

    [Fact]
    public async Task V1Header_ItsClientIsTheConnectionsClient_AndAForwardedForItSentIsReplaced()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "127.0.0.1"));

        var response = await RawAsync(gateway.Port, "PROXY TCP4 203.0.113.7 10.0.0.1 51000 80\r\n"u8.ToArray(),
            "GET /a HTTP/1.1\r\nHost: api\r\nX-Forwarded-For: 6.6.6.6\r\n\r\nGET /b HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");

        Assert.Equal(2, CountOccurrences(response, "HTTP/1.1 200"));
        Assert.All(backend.Seen, s => Assert.Equal("203.0.113.7", s.Headers["X-Forwarded-For"]));
    }

    [Fact]
    public async Task V2Header_Ipv6ClientWithTlvs_IsTheClient_AndLocalKeepsTheBalancersOwnAddress()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "127.0.0.0/8"));

        var proxied = await RawAsync(gateway.Port, V2(1, 2, IPAddress.Parse("2001:db8::7"), IPAddress.Parse("2001:db8::1"), 51000, 80, [0x04, 0x00, 0x01, 0x00]),
            "GET /a HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");
        var local = await RawAsync(gateway.Port, Local(),
            "GET /b HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 200", proxied, StringComparison.Ordinal);
        Assert.StartsWith("HTTP/1.1 200", local, StringComparison.Ordinal);
        Assert.Equal(["2001:db8::7", "127.0.0.1"], backend.Seen.Select(s => s.Headers["X-Forwarded-For"]));
    }

    // A LOCAL header with no address block, as balancers send for their own health checks.
    private static byte[] Local() => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A, 0x20, 0x00, 0x00, 0x00];

    [Fact]
    public async Task NoHeader_OrAPeerNotInTrustedProxies_IsClosedBeforeHttp_AndCounted()
    {
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Parse(Yaml(backend.Url, "127.0.0.1")), options: o => o with { MetricsOnAdmin = true });
        await using var elsewhere = await TestGateway.StartAsync(TestGateway.Parse(Yaml(backend.Url, "10.0.0.0/8")), options: o => o with { MetricsOnAdmin = true });

        var plain = await RawAsync(gateway.Port, [], "GET /a HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");
        var untrusted = await RawAsync(elsewhere.Port, "PROXY TCP4 203.0.113.7 10.0.0.1 51000 80\r\n"u8.ToArray(), "GET /a HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n");

        Assert.Equal("", plain);
        Assert.Equal("", untrusted);
        Assert.Equal(0, backend.Count);
        Assert.Matches(@"gatehouse_listener_proxy_protocol_refused_total\{[^}]*reason=""malformed""[^}]*\} 1\b", gateway.Host.Metrics!.Scrape());
        Assert.Matches(@"gatehouse_listener_proxy_protocol_refused_total\{[^}]*reason=""untrusted""[^}]*\} 1\b", elsewhere.Host.Metrics!.Scrape());
    }

    [Fact]
    public async Task AConnectionThatSendsNoHeaderInTime_IsClosed_AndCounted()
    {
        var time = new TestSupport.FakeTimeProvider();
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.Parse(Yaml(backend.Url, "127.0.0.1")), time: time, options: o => o with { MetricsOnAdmin = true });
        var timers = time.ActiveTimers;
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, gateway.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync("PROXY TCP4 203.0.113.7"u8.ToArray()); // and then nothing

        // The clock moves only once the connection's header timeout is armed: after a fixed 200 ms, a loaded machine had
        // not always accepted the connection yet, the timeout started after the move and never fired (1 run in 8).
        var closed = stream.ReadAsync(new byte[1]).AsTask();
        await Wait.UntilAsync(() => time.ActiveTimers > timers, "the connection's header timeout to be armed");
        Assert.False(closed.IsCompleted);
        time.Advance(ProxyProtocolMiddleware.HeaderTimeout);

        Assert.Equal(0, await closed.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Matches(@"gatehouse_listener_proxy_protocol_refused_total\{[^}]*reason=""timeout""[^}]*\} 1\b", gateway.Host.Metrics!.Scrape());
    }

    [Fact]
    public async Task HttpsListener_TheHeaderComesBeforeTheHandshake()
    {
        using var pki = new TestPki();
        var server = pki.IssueServer("localhost");
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "127.0.0.1", "https://127.0.0.1:0",
            $"certificate: {{ certFile: {server.CertFile}, keyFile: {server.KeyFile} }}"));

        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, gateway.Port);
        var network = tcp.GetStream();
        await network.WriteAsync("PROXY TCP4 198.51.100.9 10.0.0.1 40000 443\r\n"u8.ToArray());
        await using var tls = new SslStream(network);
        await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
        {
            TargetHost = "localhost",
            RemoteCertificateValidationCallback = (_, certificate, _, _) => certificate is not null && pki.Issued(new System.Security.Cryptography.X509Certificates.X509Certificate2(certificate)),
        });
        await tls.WriteAsync("GET /a HTTP/1.1\r\nHost: api\r\nConnection: close\r\n\r\n"u8.ToArray());
        var response = await new StreamReader(tls).ReadToEndAsync();

        Assert.StartsWith("HTTP/1.1 200", response, StringComparison.Ordinal);
        Assert.Equal("198.51.100.9", Assert.Single(backend.Seen).Headers["X-Forwarded-For"]);
    }

    /// <summary>
    /// HAProxy in TCP mode in front, as a balancer: a client connecting from 127.0.0.2 is seen as 127.0.0.2, though
    /// the gateway's connection comes from HAProxy at 127.0.0.1; both versions of the header.
    /// </summary>
    [Theory]
    [InlineData("send-proxy")]
    [InlineData("send-proxy-v2")]
    public async Task BehindHaproxy_TheClientItTookTheConnectionFrom_IsTheClient(string sendProxy)
    {
        var haproxyPath = new[] { "/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy" }.FirstOrDefault(File.Exists);
        Assert.True(haproxyPath is not null, "haproxy is not installed; ./test.sh installs it (Debian: apt-get install haproxy)");
        await using var backend = await RecordingBackend.StartAsync();
        await using var gateway = await TestGateway.StartAsync(Yaml(backend.Url, "127.0.0.1"));
        var port = FreePorts.Tcp();
        using var dir = new TempDirectory();
        var config = Path.Combine(dir.Path, "haproxy.cfg");
        await File.WriteAllTextAsync(config, $"""
            global
              maxconn 64
            defaults
              mode tcp
              timeout connect 5s
              timeout client 30s
              timeout server 30s
            frontend balancer
              bind 127.0.0.1:{port}
              default_backend gateway
            backend gateway
              source 127.0.0.1
              server gw 127.0.0.1:{gateway.Port} {sendProxy}

            """); // HAProxy wants the last line ended
        using var haproxy = Process.Start(new ProcessStartInfo(haproxyPath!, $"-f {config} -db") { RedirectStandardError = true, RedirectStandardOutput = true })!;
        try
        {
            using var handler = new SocketsHttpHandler
            {
                UseProxy = false,
                ConnectCallback = async (context, cancellationToken) =>
                {
                    var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                    socket.Bind(new IPEndPoint(IPAddress.Parse("127.0.0.2"), 0));
                    await socket.ConnectAsync(IPAddress.Loopback, port, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                },
            };
            using var client = new HttpClient(handler) { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
            await Wait.UntilAsync(async () =>
            {
                if (haproxy.HasExited)
                {
                    Assert.Fail($"haproxy stopped: {await haproxy.StandardError.ReadToEndAsync()}");
                }

                try
                {
                    return (await client.GetAsync("/ready-probe")).IsSuccessStatusCode;
                }
                catch (HttpRequestException)
                {
                    return false; // HAProxy not listening yet
                }
            }, "HAProxy to forward to the gateway");

            var response = await client.GetAsync("/a");

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.All(backend.Seen, s => Assert.Equal("127.0.0.2", s.Headers["X-Forwarded-For"]));
        }
        finally
        {
            haproxy.Kill();
            await haproxy.WaitForExitAsync();
        }
    }

    private static int CountOccurrences(string text, string value) => (text.Length - text.Replace(value, "", StringComparison.Ordinal).Length) / value.Length;

    // Writes the header and the HTTP text on one connection; returns everything the gateway answered until it closed.
    private static async Task<string> RawAsync(int port, byte[] header, string http)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(header.Concat(Encoding.ASCII.GetBytes(http)).ToArray());
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var received = new MemoryStream();
        try
        {
            await stream.CopyToAsync(received, timeout.Token);
        }
        catch (IOException)
        {
            // A reset after the close is still "closed".
        }

        return Encoding.ASCII.GetString(received.ToArray());
    }
}
