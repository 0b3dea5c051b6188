using System.Text.Json;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>The access log: JSON lines written off the request path, rotated by size, sampled or errors-only.</summary>
[Trait("Issue", "19")]
public sealed class AccessLogTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    [Theory]
    [InlineData("2026-12-04T18:05:09.007Z")]
    [InlineData("0999-01-31T00:00:00.000Z")]
    [InlineData("2024-02-29T23:59:59.999Z")]
    [InlineData("9999-12-31T23:59:59.999Z")]
    public void Time_IsWrittenAsDateTimeWouldFormatIt(string expected)
    {
        var ticks = DateTime.Parse(expected, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal | System.Globalization.DateTimeStyles.AssumeUniversal).Ticks;
        var written = new byte[24];
        Gatehouse.Gateway.Observability.AccessLogWriter.WriteTime(written, ticks + 9_999); // what is under a millisecond is cut, as the "fff" format does
        Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(written));
        Assert.Equal(new DateTime(ticks + 9_999, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture), System.Text.Encoding.ASCII.GetString(written));
    }

    [Theory]
    [InlineData(12.3, "12.3")]
    [InlineData(0.045, "0.045")]
    [InlineData(7.0, "7")]
    [InlineData(0.0004, "0")]
    [InlineData(0.0005, "0.001")]
    [InlineData(1.23456, "1.235")]
    [InlineData(86_400_000.1, "86400000.1")]
    [InlineData(-1.0, "0")]
    public void Duration_IsMillisecondsToTheMicrosecond_WithoutTrailingZeros(double milliseconds, string expected)
    {
        var written = Gatehouse.Gateway.Observability.AccessLogWriter.Milliseconds(new byte[32], milliseconds);

        Assert.Equal(expected, System.Text.Encoding.ASCII.GetString(written));
        if (milliseconds >= 0)
        {
            Assert.Equal(Math.Round(milliseconds, 3, MidpointRounding.AwayFromZero), double.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), 9);
        }
    }

    [Theory]
    [InlineData("203.0.113.9", "GET")]
    [InlineData("2001:db8::1", "PROPFIND")]
    [InlineData(null, "GET")]
    [InlineData("::1", "X\"Y")] // not a token (Kestrel would refuse it): escaped like any other text
    public void Line_IsValidJson_WithTheValuesWrittenRaw(string? client, string method)
    {
        var traceId = System.Diagnostics.ActivityTraceId.CreateRandom();
        var entry = new Gatehouse.Gateway.Observability.AccessLogEntry(
            new DateTime(2026, 12, 5, 3, 4, 5, 6, DateTimeKind.Utc).Ticks, "req-\"1\"", client is null ? null : System.Net.IPAddress.Parse(client), method,
            "/p\u0001th", "", 200, 12.5, 1, 2, "r", "op", "app", "plan", "http://u:1", 0, "ua", traceId);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Gatehouse.Gateway.Observability.AccessLogWriter.Format(buffer, entry, "node-1");

        var line = JsonDocument.Parse(buffer.WrittenMemory).RootElement;
        Assert.Equal("2026-12-05T03:04:05.006Z", line.GetProperty("time").GetString());
        Assert.Equal("req-\"1\"", line.GetProperty("requestId").GetString());
        Assert.Equal(client, line.GetProperty("client").GetString());
        Assert.Equal(method, line.GetProperty("method").GetString());
        Assert.Equal("/p\u0001th", line.GetProperty("path").GetString());
        Assert.Equal(12.5, line.GetProperty("durationMs").GetDouble());
        Assert.Equal(traceId.ToHexString(), line.GetProperty("traceId").GetString());
        Assert.Equal("node-1", line.GetProperty("node").GetString());
    }

    public static TheoryData<string> Texts()
    {
        var data = new TheoryData<string>
        {
            "/plain/path", "say \"hi\"", "back\\slash", "a\"quoted\" \\ back", "tab\tnew\nline\rcr\u0000nul\u001f\u007f", "caf\u00e9 \u65e5\u672c \ud83d\ude00",
            "<script>&'+`", "\u2028\u2029", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36",
        };
        data.Add(new string(Enumerable.Range(0, 128).Select(c => (char)c).ToArray())); // every ASCII character
        data.Add(new string(Enumerable.Range(128, 256).Select(c => (char)c).ToArray())); // Latin-1, as Kestrel decodes header bytes
        data.Add(new string(Enumerable.Range(' ', '~' - ' ' + 1).Select(c => (char)c).Where(c => c is not '"' and not '\\').ToArray())); // what is copied as it is
        return data;
    }

    [Theory]
    [MemberData(nameof(Texts))]
    public void Strings_ReadBackAsTheyWere_AsWithTheJsonWriter(string text)
    {
        // The line is assembled by hand for speed; each string must read back exactly, whatever it holds, and plain text
        // must come out as System.Text.Json's writer (relaxed escaping, as the log used before) writes it.
        var entry = new Gatehouse.Gateway.Observability.AccessLogEntry(0, "r", null, "GET", text, "", 200, 1, 0, 0, null, null, null, null, null, 0, text, default);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Gatehouse.Gateway.Observability.AccessLogWriter.Format(buffer, entry, null);
        var line = JsonDocument.Parse(buffer.WrittenMemory).RootElement;
        Assert.Equal(text, line.GetProperty("path").GetString());
        Assert.Equal(text, line.GetProperty("userAgent").GetString());

        var reference = new System.Buffers.ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(reference, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteString("path", text);
            json.WriteEndObject();
        }

        if (text.All(c => c is >= ' ' and <= '~' and not '"' and not '\\'))
        {
            var written = System.Text.Encoding.UTF8.GetString(reference.WrittenSpan);
            Assert.Contains(written[1..^1], System.Text.Encoding.UTF8.GetString(buffer.WrittenSpan), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void LoneSurrogate_IsLoggedAsTheReplacementCharacter()
    {
        var entry = new Gatehouse.Gateway.Observability.AccessLogEntry(0, "r", null, "GET", "/a\ud800b", "", 200, 1, 0, 0, null, null, null, null, null, 0, null, default);
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        Gatehouse.Gateway.Observability.AccessLogWriter.Format(buffer, entry, null);
        Assert.Equal("/a\ufffdb", JsonDocument.Parse(buffer.WrittenMemory).RootElement.GetProperty("path").GetString());
    }

    [Fact]
    public async Task FileReachingItsSize_IsRotated_KeepingMaxFiles()
    {
        var log = Path.Combine(_dir.Path, "access.log");
        await using var backend = await TestBackend.StartEchoAsync();
        var gateway = await StartAsync(backend, $"{{ path: \"{log}\", maxFileSize: 4KB, maxFiles: 2 }}");
        try
        {
            for (var i = 0; i < 120; i++)
            {
                using var response = await gateway.Client.GetAsync($"/logged/{i}");
                Assert.True(response.IsSuccessStatusCode);
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        Assert.True(File.Exists(log + ".1"));
        Assert.True(File.Exists(log + ".2"));
        Assert.False(File.Exists(log + ".3"));
        var files = new[] { log + ".2", log + ".1", log };
        Assert.All(files, f => Assert.InRange(new FileInfo(f).Length, 1, 4096));
        var paths = files.SelectMany(File.ReadAllLines).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("path").GetString()).ToList();
        Assert.Equal("/logged/119", paths[^1]);
        var numbers = paths.Select(p => int.Parse(p!["/logged/".Length..], System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(numbers.Order(), numbers); // oldest file first, lines in order, nothing repeated
        Assert.Equal(numbers.Distinct().Count(), numbers.Count);
    }

    /// <summary>
    /// A path that is a pipe (what /dev/stdout is in a container, or a named pipe a log shipper reads): every line reaches
    /// the reader, in order, and a maxFileSize smaller than what is written never tries to rotate it. Before, the writer asked
    /// the pipe for its length, died, and wrote nothing.
    /// </summary>
    [Fact]
    public async Task APathThatIsAPipe_GetsEveryLine_AndIsNeverRotated()
    {
        var fifo = Path.Combine(_dir.Path, "access.fifo");
        using (var mkfifo = System.Diagnostics.Process.Start("mkfifo", fifo))
        {
            await mkfifo.WaitForExitAsync();
            Assert.Equal(0, mkfifo.ExitCode);
        }

        // The reader, as a log shipper would be: opening a pipe for reading waits for its writer.
        var read = Task.Run(async () =>
        {
            var lines = new List<string>();
            using var reader = new StreamReader(new FileStream(fifo, FileMode.Open, FileAccess.Read));
            while (lines.Count < 60 && await reader.ReadLineAsync() is { } line)
            {
                lines.Add(line);
            }

            return lines;
        });
        await using var backend = await TestBackend.StartEchoAsync();
        var gateway = await StartAsync(backend, $"{{ path: \"{fifo}\", maxFileSize: 4KB, maxFiles: 2 }}");
        try
        {
            for (var i = 0; i < 60; i++)
            {
                using var response = await gateway.Client.GetAsync($"/logged/{i}");
                Assert.True(response.IsSuccessStatusCode);
            }

            var lines = await read.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal(Enumerable.Range(0, 60).Select(i => $"/logged/{i}"), lines.Select(l => JsonDocument.Parse(l).RootElement.GetProperty("path").GetString()));
            Assert.False(File.Exists(fifo + ".1"));
        }
        finally
        {
            await gateway.DisposeAsync();
        }
    }

    [Fact]
    public async Task ErrorsOnly_WritesOnlyRequestsAnswered400OrMore()
    {
        var log = Path.Combine(_dir.Path, "errors.log");
        await using var backend = await TestBackend.StartEchoAsync();
        var gateway = await StartAsync(backend, $"{{ path: \"{log}\", errorsOnly: true }}");
        try
        {
            await SendAsync(gateway, "/logged/1", 5);
            await SendAsync(gateway, "/nowhere", 3);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var lines = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, lines.Count);
        Assert.All(lines, l => Assert.Equal(404, l.GetProperty("status").GetInt32()));
    }

    [Fact]
    public async Task SampleRateZero_KeepsErrorsAndDropsSuccesses()
    {
        var log = Path.Combine(_dir.Path, "sampled.log");
        await using var backend = await TestBackend.StartEchoAsync();
        var gateway = await StartAsync(backend, $"{{ path: \"{log}\", sampleRate: 0 }}");
        try
        {
            await SendAsync(gateway, "/logged/1", 10);
            await SendAsync(gateway, "/nowhere", 2);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        Assert.Equal(2, File.ReadAllLines(log).Length);
    }

    [Fact]
    public async Task Line_HoldsTheRequestsFacts()
    {
        var log = Path.Combine(_dir.Path, "facts.log");
        await using var backend = await TestBackend.StartEchoAsync();
        var gateway = await StartAsync(backend, $"{{ path: \"{log}\" }}");
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/logged/7?q=1") { Content = new StringContent("twelve bytes") };
            request.Headers.Add("X-Request-Id", "facts-1");
            request.Headers.UserAgent.ParseAdd("facts-test/1.0");
            using var response = await gateway.Client.SendAsync(request);
            Assert.True(response.IsSuccessStatusCode);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var line = JsonDocument.Parse(Assert.Single(File.ReadAllLines(log))).RootElement;
        Assert.Equal("facts-1", line.GetProperty("requestId").GetString());
        Assert.Equal("POST", line.GetProperty("method").GetString());
        Assert.Equal("/logged/7", line.GetProperty("path").GetString());
        Assert.Equal("?q=1", line.GetProperty("query").GetString());
        Assert.Equal(200, line.GetProperty("status").GetInt32());
        Assert.Equal(12, line.GetProperty("bytesIn").GetInt64());
        Assert.True(line.GetProperty("bytesOut").GetInt64() > 0);
        Assert.Equal("logged", line.GetProperty("route").GetString());
        Assert.Equal("route:logged", line.GetProperty("operation").GetString());
        Assert.StartsWith("http://127.0.0.1:", line.GetProperty("upstream").GetString(), StringComparison.Ordinal);
        Assert.Equal("facts-test/1.0", line.GetProperty("userAgent").GetString());
        Assert.True(line.GetProperty("durationMs").GetDouble() > 0);
        Assert.True(DateTimeOffset.TryParse(line.GetProperty("time").GetString(), out _));
    }

    [Fact]
    [Trait("Issue", "20")]
    public async Task ARetriedRequest_SaysItsAttemptsAndWhy_AndARefusedRetrySaysWhyNot()
    {
        var log = Path.Combine(_dir.Path, "retries.log");
        var calls = 0;
        // Every other call fails: a GET's first attempt gets 503 and its retry 200; a POST's 503 is not retried.
        await using var backend = await TestBackend.StartAsync(context =>
        {
            context.Response.StatusCode = Interlocked.Increment(ref calls) % 2 == 1 ? 503 : 200;
            return Task.CompletedTask;
        });
        var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                accessLog: { path: "{{log}}" }
            services:
              flaky:
                targets: [{{backend.Url}}]
                retry: { backOff: 0s, maxBackOff: 0s }
            routes:
              flaky: { path: "/flaky", service: flaky }
            """);
        try
        {
            using (var get = await gateway.Client.GetAsync("/flaky"))
            {
                Assert.Equal(200, (int)get.StatusCode);
            }

            using var post = await gateway.Client.PostAsync("/flaky", new StringContent("x"));
            Assert.Equal(503, (int)post.StatusCode);
            using (var clean = await gateway.Client.GetAsync("/flaky"))
            {
                Assert.Equal(200, (int)clean.StatusCode);
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var lines = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Equal(2, lines[0].GetProperty("attempts").GetInt32());
        Assert.Equal("503", lines[0].GetProperty("retries").GetString());
        Assert.False(lines[0].TryGetProperty("notRetried", out _));
        Assert.False(lines[1].TryGetProperty("attempts", out _));
        Assert.Equal("503: POST is not idempotent (retry.nonIdempotent is off)", lines[1].GetProperty("notRetried").GetString());
        Assert.False(lines[2].TryGetProperty("attempts", out _));
        Assert.False(lines[2].TryGetProperty("notRetried", out _));
    }

    [Fact]
    public async Task TheClient_IsTheAddressTrustedProxiesVouchFor_NotTheLastProxys()
    {
        // Behind a load balancer (the connection, loopback here) and a CDN (10.0.0.0/8), both trusted: the client is the
        // first address from the right that is not a trusted proxy; what the client wrote left of it is not believed.
        var log = Path.Combine(_dir.Path, "clients.log");
        await using var backend = await TestBackend.StartEchoAsync();
        var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              trustedProxies: [127.0.0.1, 10.0.0.0/8]
              observability:
                accessLog: { path: "{{log}}" }
            services:
              echo: { targets: [{{backend.Url}}] }
            routes:
              logged: { path: "/logged/{id}", service: echo }
            """);
        try
        {
            foreach (var forwardedFor in new[] { "203.0.113.7, 10.1.2.3", "198.51.100.1, 203.0.113.8, 10.9.9.9, 10.1.2.3", "10.4.4.4", "not-an-address, 10.1.2.3" })
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/logged/1");
                request.Headers.TryAddWithoutValidation("X-Forwarded-For", forwardedFor);
                using var response = await gateway.Client.SendAsync(request);
                Assert.Equal(200, (int)response.StatusCode);
            }
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var clients = File.ReadAllLines(log).Select(l => JsonDocument.Parse(l).RootElement.GetProperty("client")).ToList();
        Assert.Equal(["203.0.113.7", "203.0.113.8", "10.4.4.4"], clients.Take(3).Select(c => c.GetString()));
        Assert.Equal(JsonValueKind.Null, clients[3].ValueKind);
    }

    [Fact]
    public async Task ClientGoneBeforeTheAnswer_IsStillLogged_As499()
    {
        // A request's records are made when Kestrel reports it complete (GatewayTelemetry.Begin): also when the client went
        // away while the service was still working on it.
        var log = Path.Combine(_dir.Path, "gone.log");
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            arrived.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(30), context.RequestAborted);
        });
        var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                accessLog: { path: "{{log}}" }
                metrics: { url: "http://127.0.0.1:0" }
            services:
              echo: { targets: [{{backend.Url}}] }
            routes:
              logged: { path: "/logged/{id}", service: echo }
            """);
        try
        {
            using var leaving = new CancellationTokenSource();
            var call = gateway.Client.GetAsync("/logged/gone", leaving.Token);
            await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
            await leaving.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
            await Wait.UntilAsync(() => File.Exists(log) && File.ReadAllLines(log).Length == 1, "the aborted request's line");

            // The request has ended for the active-requests gauge too.
            using var metricsClient = new HttpClient();
            var samples = await PrometheusParser.ParseAsync(await metricsClient.GetStringAsync(gateway.Host.MetricsUrl + "/metrics"));
            Assert.Equal(0, samples.Single(s => s.Name == "http_server_active_requests" && s.Labels["http_request_method"] == "GET").Value);
            Assert.Equal(1, samples.Single(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_response_status_code") == "499").Value);
        }
        finally
        {
            await gateway.DisposeAsync();
        }

        var line = JsonDocument.Parse(Assert.Single(File.ReadAllLines(log))).RootElement;
        Assert.Equal("/logged/gone", line.GetProperty("path").GetString());
        Assert.Equal(499, line.GetProperty("status").GetInt32());
    }

    private static Task<TestGateway> StartAsync(TestBackend backend, string accessLog) => TestGateway.StartAsync($$"""
        version: 1
        gateway:
          observability:
            accessLog: {{accessLog}}
        services:
          echo: { targets: [{{backend.Url}}] }
        routes:
          logged: { path: "/logged/{id}", service: echo }
        """);

    private static async Task SendAsync(TestGateway gateway, string path, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await gateway.Client.GetAsync(path);
        }
    }

    public void Dispose() => _dir.Dispose();
}
