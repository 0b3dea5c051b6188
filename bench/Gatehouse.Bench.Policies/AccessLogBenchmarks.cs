using System.Buffers;
using System.Diagnostics;
using System.Net;
using System.Text.Encodings.Web;
using System.Text.Json;
using BenchmarkDotNet.Attributes;
using Gatehouse.Gateway.Observability;

namespace Gatehouse.Bench.Policies;

/// <summary>
/// Issue 19: what formatting one access-log line costs on the writer's background loop (the same core as the requests in
/// the proxy bench, so it counts in the proxy's CPU per request). The entry is what bench/configs/observe-all.yaml logs
/// for wrk's requests: a GET with no query, a route, an upstream, a generated request id and a trace id.
/// </summary>
[MemoryDiagnoser]
public class AccessLogBenchmarks
{
    private readonly ArrayBufferWriter<byte> _line = new(1024);
    private Utf8JsonWriter _json = null!;
    private AccessLogEntry _entry;

    [GlobalSetup]
    public void Setup()
    {
        _json = new Utf8JsonWriter(_line, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        _entry = new AccessLogEntry(DateTime.UtcNow.Ticks, Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), IPAddress.Loopback, "GET", "/hello", "", 200,
            0.412, 0, 13, "all", "GET /{**rest}", "", "", "http://127.0.0.1:40123", 0, null, ActivityTraceId.CreateRandom());
    }

    [Benchmark]
    public int FormatLine()
    {
        _line.ResetWrittenCount();
        AccessLogWriter.Format(_line, _entry, "node-1");
        return _line.WrittenCount;
    }

    private static readonly JsonEncodedText N = JsonEncodedText.Encode("requestId");

    [Benchmark]
    public int TimeOnly()
    {
        Span<byte> to = stackalloc byte[32];
        AccessLogWriter.WriteTime(to, _entry.UtcTicks);
        return to[3];
    }

    [Benchmark]
    public int StringsOnly()
    {
        _line.ResetWrittenCount();
        _json.Reset(_line);
        _json.WriteStartObject();
        _json.WriteString(N, _entry.RequestId);
        _json.WriteString(N, "node-1");
        _json.WriteString(N, _entry.Path);
        _json.WriteString(N, _entry.Route);
        _json.WriteString(N, _entry.Operation);
        _json.WriteString(N, _entry.Upstream);
        _json.WriteEndObject();
        _json.Flush();
        return _line.WrittenCount;
    }

    [Benchmark]
    public int ClientOnly()
    {
        Span<byte> to = stackalloc byte[64];
        _entry.Client!.TryFormat(to, out var n);
        return n;
    }
}
