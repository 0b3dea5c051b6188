using System.Buffers;
using System.Diagnostics;
using System.Net;
using BenchmarkDotNet.Attributes;
using Gatehouse.Gateway.Observability;

namespace Gatehouse.Bench.Policies;

/// <summary>
/// Issue 19: what formatting one access-log line costs on the writer's background loop (the same core as the requests in
/// the proxy bench, so it counts in the proxy's CPU per request). The entry is what bench/configs/observe-all.yaml logs
/// for wrk's requests: a GET with no query, a route, an upstream, a generated request id and a trace id.
/// <c>dotnet run -c Release --project bench/Gatehouse.Bench.Policies -- --filter '*AccessLog*'</c>
/// </summary>
[MemoryDiagnoser]
public class AccessLogBenchmarks
{
    private readonly ArrayBufferWriter<byte> _line = new(1024);
    private AccessLogEntry _entry;

    [GlobalSetup]
    public void Setup()
    {
        _entry = new AccessLogEntry(DateTime.UtcNow.Ticks, Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()), IPAddress.Loopback, "GET", "/hello", "", 200,
            0.412, 0, 13, "all", "GET /{**rest}", "", "", "http://127.0.0.1:40123", 0, null, ActivityTraceId.CreateRandom());
    }

    /// <summary>The whole line.</summary>
    [Benchmark]
    public int FormatLine()
    {
        _line.ResetWrittenCount();
        AccessLogWriter.Format(_line, _entry, "node-1");
        return _line.WrittenCount;
    }

    /// <summary>The time field alone.</summary>
    [Benchmark]
    public int TimeOnly()
    {
        Span<byte> to = stackalloc byte[32];
        AccessLogWriter.WriteTime(to, _entry.UtcTicks);
        return to[3];
    }
}
