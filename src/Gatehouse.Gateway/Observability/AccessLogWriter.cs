using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// Writes the access log: one JSON object per line, to stdout or to a file that is rotated by size (<c>NAME</c>,
/// <c>NAME.1</c>, ... <c>NAME.maxFiles</c>). Requests only enqueue (<see cref="TryWrite"/>); a background loop formats and
/// writes, so a slow disk never slows a request: when the queue is full, lines are dropped and counted.
/// </summary>
internal sealed partial class AccessLogWriter : IAsyncDisposable
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly AccessLogConfig _config;
    private readonly RecordQueue<AccessLogEntry> _queue;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly string? _node;
    private Stream? _stream;
    private long _size;

    public AccessLogWriter(AccessLogConfig config, string? node, ILogger logger)
    {
        (_config, _node, _logger) = (config, node, logger);
        _queue = new RecordQueue<AccessLogEntry>(config.BufferSize);
        _loop = Task.Run(LoopAsync);
    }

    /// <summary>Lines dropped because the writer fell behind.</summary>
    public long Dropped => _queue.Dropped;

    /// <summary>Whether a request with <paramref name="status"/> is logged under the current sampling rules.</summary>
    public static bool Wanted(AccessLogConfig config, int status)
    {
        if (status >= 400)
        {
            return true;
        }

        return !config.ErrorsOnly && (config.SampleRate >= 1 || (config.SampleRate > 0 && Random.Shared.NextDouble() < config.SampleRate));
    }

    public void TryWrite(in AccessLogEntry entry)
    {
        if (!_queue.TryEnqueue(entry))
        {
            GatewayMetrics.AccessLogDropped();
        }
    }

    private async Task LoopAsync()
    {
        using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
        var buffer = new ArrayBufferWriter<byte>(64 * 1024);
        var stopping = false;
        while (true)
        {
            try
            {
                stopping = !await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                stopping = true;
            }

            try
            {
                await WriteQueuedAsync(buffer).ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                LogWriteFailed(_logger, _config.Path, e);
                await CloseAsync().ConfigureAwait(false);
            }

            if (stopping)
            {
                await CloseAsync().ConfigureAwait(false);
                return;
            }
        }
    }

    private async Task WriteQueuedAsync(ArrayBufferWriter<byte> pending)
    {
        if (_queue.Count == 0)
        {
            return;
        }

        var line = new ArrayBufferWriter<byte>(1024);
        using var json = new Utf8JsonWriter(line, WriterOptions);
        var stream = await OpenAsync().ConfigureAwait(false);
        pending.ResetWrittenCount();
        while (_queue.TryDequeue(out var entry))
        {
            line.ResetWrittenCount();
            json.Reset(line);
            Format(json, entry, _node);
            json.Flush();
            line.Write("\n"u8);

            // A file never grows past its size: the line that would not fit goes to the next file.
            if (stream is FileStream && _size + pending.WrittenCount + line.WrittenCount > _config.MaxFileSize && _size + pending.WrittenCount > 0)
            {
                await WritePendingAsync(stream, pending).ConfigureAwait(false);
                await CloseAsync().ConfigureAwait(false);
                Rotate();
                stream = await OpenAsync().ConfigureAwait(false);
            }

            pending.Write(line.WrittenSpan);
            if (pending.WrittenCount >= 64 * 1024)
            {
                await WritePendingAsync(stream, pending).ConfigureAwait(false);
            }
        }

        await WritePendingAsync(stream, pending).ConfigureAwait(false);
    }

    private async Task WritePendingAsync(Stream stream, ArrayBufferWriter<byte> pending)
    {
        if (pending.WrittenCount == 0)
        {
            return;
        }

        await stream.WriteAsync(pending.WrittenMemory).ConfigureAwait(false);
        await stream.FlushAsync().ConfigureAwait(false);
        _size += pending.WrittenCount;
        pending.ResetWrittenCount();
    }

    // The property names, encoded once: written as strings, each would be checked for characters to escape on every line.
    private static readonly JsonEncodedText TimeName = JsonEncodedText.Encode("time");
    private static readonly JsonEncodedText RequestIdName = JsonEncodedText.Encode("requestId");
    private static readonly JsonEncodedText NodeName = JsonEncodedText.Encode("node");
    private static readonly JsonEncodedText ClientName = JsonEncodedText.Encode("client");
    private static readonly JsonEncodedText MethodName = JsonEncodedText.Encode("method");
    private static readonly JsonEncodedText PathName = JsonEncodedText.Encode("path");
    private static readonly JsonEncodedText QueryName = JsonEncodedText.Encode("query");
    private static readonly JsonEncodedText StatusName = JsonEncodedText.Encode("status");
    private static readonly JsonEncodedText DurationName = JsonEncodedText.Encode("durationMs");
    private static readonly JsonEncodedText BytesInName = JsonEncodedText.Encode("bytesIn");
    private static readonly JsonEncodedText BytesOutName = JsonEncodedText.Encode("bytesOut");
    private static readonly JsonEncodedText RouteName = JsonEncodedText.Encode("route");
    private static readonly JsonEncodedText OperationName = JsonEncodedText.Encode("operation");
    private static readonly JsonEncodedText ApplicationName = JsonEncodedText.Encode("application");
    private static readonly JsonEncodedText PlanName = JsonEncodedText.Encode("plan");
    private static readonly JsonEncodedText UpstreamName = JsonEncodedText.Encode("upstream");
    private static readonly JsonEncodedText StepsName = JsonEncodedText.Encode("steps");
    private static readonly JsonEncodedText AttemptsName = JsonEncodedText.Encode("attempts");
    private static readonly JsonEncodedText RetriesName = JsonEncodedText.Encode("retries");
    private static readonly JsonEncodedText NotRetriedName = JsonEncodedText.Encode("notRetried");
    private static readonly JsonEncodedText UserAgentName = JsonEncodedText.Encode("userAgent");
    private static readonly JsonEncodedText TraceIdName = JsonEncodedText.Encode("traceId");

    internal static void Format(Utf8JsonWriter json, in AccessLogEntry e, string? node)
    {
        json.WriteStartObject();

        // Values made here of characters that never need escaping (the time, the address, the trace id; a method, which
        // Kestrel has checked to be a token) are written raw, quotes and all: escaping checks them for nothing otherwise.
        Span<byte> value = stackalloc byte[72];
        value[0] = (byte)'"';
        WriteTime(value[1..], e.UtcTicks);
        value[25] = (byte)'"';
        WriteSafe(json, TimeName, value[..26]);
        json.WriteString(RequestIdName, e.RequestId);
        if (node is not null)
        {
            json.WriteString(NodeName, node);
        }

        if (e.Client is { } client && client.TryFormat(value[1..], out var length))
        {
            value[length + 1] = (byte)'"';
            WriteSafe(json, ClientName, value[..(length + 2)]);
        }
        else
        {
            json.WriteNull(ClientName);
        }

        if (e.Method.Length <= 64 && Forwarding.HeaderRules.IsToken(e.Method))
        {
            length = System.Text.Encoding.ASCII.GetBytes(e.Method, value[1..^1]);
            value[length + 1] = (byte)'"';
            WriteSafe(json, MethodName, value[..(length + 2)]);
        }
        else
        {
            json.WriteString(MethodName, e.Method);
        }

        json.WriteString(PathName, e.Path);
        if (e.Query.Length > 0)
        {
            json.WriteString(QueryName, e.Query);
        }

        json.WriteNumber(StatusName, e.Status);
        WriteSafe(json, DurationName, Milliseconds(value, e.DurationMs));
        json.WriteNumber(BytesInName, e.BytesIn);
        json.WriteNumber(BytesOutName, e.BytesOut);
        WriteOptional(json, RouteName, e.Route);
        WriteOptional(json, OperationName, e.Operation);
        WriteOptional(json, ApplicationName, e.Application);
        WriteOptional(json, PlanName, e.Plan);
        WriteOptional(json, UpstreamName, e.Upstream);
        if (e.Steps > 0)
        {
            json.WriteNumber(StepsName, e.Steps);
        }

        if (e.Retries is { } retries)
        {
            // Attempts in all, and why each retry was made (issue 20: a response that took several attempts says why).
            json.WriteNumber(AttemptsName, retries.Count(c => c == ',') + 2);
            json.WriteString(RetriesName, retries);
        }

        WriteOptional(json, NotRetriedName, e.NotRetried);

        WriteOptional(json, UserAgentName, e.UserAgent);
        if (e.TraceId != default)
        {
            // The id's own hex string (its CopyTo would parse that hex into bytes first).
            value[0] = (byte)'"';
            System.Text.Encoding.ASCII.GetBytes(e.TraceId.ToHexString(), value[1..33]);
            value[33] = (byte)'"';
            WriteSafe(json, TraceIdName, value[..34]);
        }

        json.WriteEndObject();
    }

    private static void WriteSafe(Utf8JsonWriter json, JsonEncodedText name, ReadOnlySpan<byte> value)
    {
        json.WritePropertyName(name);
        json.WriteRawValue(value, skipInputValidation: true);
    }

    /// <summary>
    /// <paramref name="milliseconds"/> to the microsecond, as a JSON number without trailing zeros (<c>12.3</c>, <c>0.045</c>,
    /// <c>7</c>), written into <paramref name="to"/>: what <c>Math.Round(ms, 3)</c> wrote as a double, without the double's
    /// shortest-form formatting.
    /// </summary>
    internal static ReadOnlySpan<byte> Milliseconds(Span<byte> to, double milliseconds)
    {
        var micros = (long)Math.Round(Math.Max(0, milliseconds) * 1000, MidpointRounding.AwayFromZero);
        System.Buffers.Text.Utf8Formatter.TryFormat(micros / 1000, to, out var length);
        var fraction = (int)(micros % 1000);
        if (fraction == 0)
        {
            return to[..length];
        }

        to[length++] = (byte)'.';
        for (var divisor = 100; fraction > 0; divisor /= 10)
        {
            to[length++] = (byte)('0' + (fraction / divisor));
            fraction %= divisor;
        }

        return to[..length];
    }

    /// <summary>
    /// Writes <c>yyyy-MM-ddTHH:mm:ss.fffZ</c> (24 bytes): the round-trip format ("O", which DateTime writes without parsing
    /// a pattern; the custom format parsed its pattern on every call, the costliest part of a line) cut to milliseconds.
    /// </summary>
    internal static void WriteTime(Span<byte> to, long utcTicks)
    {
        Span<byte> full = stackalloc byte[28];
        new DateTime(utcTicks, DateTimeKind.Utc).TryFormat(full, out _, "O", System.Globalization.CultureInfo.InvariantCulture);
        full[..23].CopyTo(to);
        to[23] = (byte)'Z';
    }

    private static void WriteOptional(Utf8JsonWriter json, JsonEncodedText name, string? value)
    {
        if (!string.IsNullOrEmpty(value))
        {
            json.WriteString(name, value);
        }
    }

    private ValueTask<Stream> OpenAsync()
    {
        if (_config.Path == "stdout")
        {
            return ValueTask.FromResult(_stream ??= Console.OpenStandardOutput());
        }

        if (_stream is null)
        {
            var file = new FileStream(_config.Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
            _size = file.Length;
            _stream = file;
        }

        return ValueTask.FromResult(_stream);
    }

    private void Rotate()
    {
        var path = _config.Path;
        if (_config.MaxFiles == 0)
        {
            File.Delete(path);
            return;
        }

        File.Delete($"{path}.{_config.MaxFiles}");
        for (var i = _config.MaxFiles - 1; i >= 1; i--)
        {
            if (File.Exists($"{path}.{i}"))
            {
                File.Move($"{path}.{i}", $"{path}.{i + 1}");
            }
        }

        File.Move(path, path + ".1");
    }

    private async Task CloseAsync()
    {
        if (_stream is { } stream && _config.Path != "stdout")
        {
            _stream = null;
            _size = 0;
            await stream.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Writes what is queued, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _loop.ConfigureAwait(false);
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The access log {Path} could not be written; lines are dropped until it can")]
    private static partial void LogWriteFailed(ILogger logger, string path, Exception exception);
}
