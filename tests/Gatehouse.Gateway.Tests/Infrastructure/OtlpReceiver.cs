using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>A span as OTLP carries it (the fields the tests read); <see cref="StatusCode"/> is its status's code (0 unset, 1 ok, 2 error).</summary>
internal sealed record OtlpSpan(string TraceId, string SpanId, string ParentSpanId, string Name, int Kind, IReadOnlyDictionary<string, string> Attributes, int StatusCode = 0)
{
    public const int Internal = 1;
    public const int Server = 2;
    public const int Client = 3;

    /// <summary>The status code of a span that ended in an error.</summary>
    public const int Error = 2;
}

/// <summary>
/// An OTLP/HTTP trace receiver on 127.0.0.1:0: accepts <c>POST /v1/traces</c> (protobuf, as the OpenTelemetry .NET exporter
/// sends with <c>OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf</c>), keeps every body, and reads the spans out of them with a
/// small protobuf reader (the OTLP proto package is not served; the wire format is a handful of rules).
/// </summary>
internal sealed class OtlpReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<byte[]> _bodies = new();

    private OtlpReceiver(WebApplication app) => _app = app;

    public string Url => _app.Urls.First();

    /// <summary>Every body received, concatenated: for searching for text that must not be there.</summary>
    public byte[] AllBytes => [.. _bodies.SelectMany(b => b)];

    public IReadOnlyList<OtlpSpan> Spans => [.. _bodies.SelectMany(Parse)];

    public static async Task<OtlpReceiver> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var receiver = new OtlpReceiver(app);
        app.MapPost("/v1/traces", async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            receiver._bodies.Enqueue(buffer.ToArray());
            context.Response.ContentType = "application/x-protobuf";
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>The settings that send a gateway's traces here, exported at once (no batching delay).</summary>
    public IReadOnlyDictionary<string, string?> Settings(string sampler = "parentbased_always_on") => new Dictionary<string, string?>
    {
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = Url,
        ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
        ["OTEL_BSP_SCHEDULE_DELAY"] = "50",
        ["OTEL_TRACES_SAMPLER"] = sampler,
        ["OTEL_SERVICE_NAME"] = "gatehouse-test",
    };

    public ValueTask DisposeAsync() => _app.DisposeAsync();

    private static IEnumerable<OtlpSpan> Parse(byte[] request)
    {
        foreach (var resourceSpans in Fields(request, 1))
        {
            foreach (var scopeSpans in Fields(resourceSpans, 2))
            {
                foreach (var span in Fields(scopeSpans, 2))
                {
                    yield return ReadSpan(span);
                }
            }
        }
    }

    private static OtlpSpan ReadSpan(byte[] span)
    {
        string traceId = "", spanId = "", parent = "", name = "";
        int kind = 0, status = 0;
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (field, wire, value, bytes) in Read(span))
        {
            switch (field)
            {
                case 1: traceId = Convert.ToHexStringLower(bytes!); break;
                case 2: spanId = Convert.ToHexStringLower(bytes!); break;
                case 4: parent = Convert.ToHexStringLower(bytes!); break;
                case 5: name = System.Text.Encoding.UTF8.GetString(bytes!); break;
                case 6 when wire == 0: kind = (int)value; break;
                case 15: status = Read(bytes!).Where(f => f.Field == 3).Select(f => (int)f.Value).LastOrDefault(); break;
                case 9:
                    string key = "", text = "";
                    foreach (var (f, _, _, b) in Read(bytes!))
                    {
                        if (f == 1)
                        {
                            key = System.Text.Encoding.UTF8.GetString(b!);
                        }
                        else if (f == 2)
                        {
                            foreach (var (vf, vw, vv, vb) in Read(b!))
                            {
                                text = vf switch
                                {
                                    1 => System.Text.Encoding.UTF8.GetString(vb!),
                                    2 => (vv != 0).ToString(),
                                    3 => ((long)vv).ToString(System.Globalization.CultureInfo.InvariantCulture),
                                    4 when vw == 1 => BitConverter.Int64BitsToDouble((long)vv).ToString(System.Globalization.CultureInfo.InvariantCulture),
                                    _ => text,
                                };
                            }
                        }
                    }

                    attributes[key] = text;
                    break;
            }
        }

        return new OtlpSpan(traceId, spanId, parent, name, kind, attributes, status);
    }

    private static IEnumerable<byte[]> Fields(byte[] message, int number) =>
        Read(message).Where(f => f.Field == number && f.Bytes is not null).Select(f => f.Bytes!);

    /// <summary>The fields of a protobuf message: number, wire type, the varint or fixed value, or the bytes of a length-delimited one.</summary>
    private static List<(int Field, int Wire, ulong Value, byte[]? Bytes)> Read(byte[] message)
    {
        var fields = new List<(int, int, ulong, byte[]?)>();
        var at = 0;
        while (at < message.Length)
        {
            var tag = Varint(message, ref at);
            var wire = (int)(tag & 7);
            var field = (int)(tag >> 3);
            switch (wire)
            {
                case 0:
                    fields.Add((field, wire, Varint(message, ref at), null));
                    break;
                case 1:
                    fields.Add((field, wire, BitConverter.ToUInt64(message, at), null));
                    at += 8;
                    break;
                case 2:
                    var length = (int)Varint(message, ref at);
                    fields.Add((field, wire, 0, message[at..(at + length)]));
                    at += length;
                    break;
                case 5:
                    fields.Add((field, wire, BitConverter.ToUInt32(message, at), null));
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"Unknown protobuf wire type {wire} at byte {at}.");
            }
        }

        return fields;
    }

    private static ulong Varint(byte[] data, ref int at)
    {
        ulong value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = data[at++];
            value |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }
}
