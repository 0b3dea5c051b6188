using System.Buffers;
using System.Text.Encodings.Web;
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
            // Any failure of the file (not only I/O: a path that turns out to be something else): said, and tried again at
            // the next tick, so the writer never dies and lines are dropped and counted meanwhile, never waited for.
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
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
        var stream = await OpenAsync().ConfigureAwait(false);
        pending.ResetWrittenCount();
        while (_queue.TryDequeue(out var entry))
        {
            line.ResetWrittenCount();
            Format(line, entry, _node);
            line.Write("\n"u8);

            // A file never grows past its size: the line that would not fit goes to the next file.
            if (stream is FileStream { CanSeek: true } && _size + pending.WrittenCount + line.WrittenCount > _config.MaxFileSize && _size + pending.WrittenCount > 0)
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

    // Printable ASCII but the quote and the backslash: what JSON carries as it is (RFC 8259, section 7), and what the
    // relaxed encoder would also leave alone. Every other character goes through that encoder.
    private static readonly SearchValues<char> Verbatim = SearchValues.Create(
        " !#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>
    /// Writes one line's JSON object (without the line feed) into <paramref name="to"/>.
    /// </summary>
    /// <remarks>
    /// Assembled here rather than with <see cref="System.Text.Json.Utf8JsonWriter"/>: the access log is formatted on the gateway's own cores,
    /// so its cost is part of the proxy's CPU per request, and the writer spent 300 ns on a typical line, most of it
    /// checking and transcoding each string and writing each separator through its general state machine
    /// (docs/benchmarks.md, issue 19). The shape is fixed: the names are constants, numbers and the values made here
    /// (time, address, trace id) need no escaping, and a string of printable ASCII without <c>"</c> or <c>\</c> is copied
    /// as it is; any other string is escaped by the same encoder the writer used
    /// (<see cref="JavaScriptEncoder.UnsafeRelaxedJsonEscaping"/>), so control characters, quotes and non-ASCII text come
    /// out as they did.
    /// </remarks>
    internal static void Format(ArrayBufferWriter<byte> to, in AccessLogEntry e, string? node)
    {
        // One span for the whole line, sized for the worst case: every character of every string escaped as \uXXXX.
        var strings = e.RequestId.Length + (node?.Length ?? 0) + e.Method.Length + e.Path.Length + e.Query.Length + (e.Route?.Length ?? 0)
            + (e.Operation?.Length ?? 0) + (e.Application?.Length ?? 0) + (e.Plan?.Length ?? 0) + (e.Upstream?.Length ?? 0)
            + (e.Retries?.Length ?? 0) + (e.NotRetried?.Length ?? 0) + (e.UserAgent?.Length ?? 0);
        var line = new Line(to.GetSpan(512 + (6 * strings)));
        line.Raw("{\"time\":\""u8);
        WriteTime(line.Rest, e.UtcTicks);
        line.Skip(24);
        line.Raw("\""u8);
        line.String(",\"requestId\":"u8, e.RequestId);
        if (node is not null)
        {
            line.String(",\"node\":"u8, node);
        }

        line.Raw(",\"client\":"u8);
        if (e.Client is { } client && client.TryFormat(line.Rest[1..], out var length))
        {
            line.Raw("\""u8);
            line.Skip(length);
            line.Raw("\""u8);
        }
        else
        {
            line.Raw("null"u8);
        }

        line.String(",\"method\":"u8, e.Method);
        line.String(",\"path\":"u8, e.Path);
        if (e.Query.Length > 0)
        {
            line.String(",\"query\":"u8, e.Query);
        }

        line.Number(",\"status\":"u8, e.Status);
        line.Raw(",\"durationMs\":"u8);
        line.Skip(Milliseconds(line.Rest, e.DurationMs).Length);
        line.Number(",\"bytesIn\":"u8, e.BytesIn);
        line.Number(",\"bytesOut\":"u8, e.BytesOut);
        line.Optional(",\"route\":"u8, e.Route);
        line.Optional(",\"operation\":"u8, e.Operation);
        line.Optional(",\"application\":"u8, e.Application);
        line.Optional(",\"plan\":"u8, e.Plan);
        line.Optional(",\"upstream\":"u8, e.Upstream);
        if (e.Steps > 0)
        {
            line.Number(",\"steps\":"u8, e.Steps);
        }

        if (e.Retries is { } retries)
        {
            // Attempts in all, and why each retry was made (issue 20: a response that took several attempts says why).
            line.Number(",\"attempts\":"u8, retries.Count(c => c == ',') + 2);
            line.String(",\"retries\":"u8, retries);
        }

        line.Optional(",\"notRetried\":"u8, e.NotRetried);
        line.Optional(",\"userAgent\":"u8, e.UserAgent);
        if (e.TraceId != default)
        {
            // The id's own hex string (its CopyTo would parse that hex into bytes first).
            line.Raw(",\"traceId\":\""u8);
            System.Text.Ascii.FromUtf16(e.TraceId.ToHexString(), line.Rest, out var hex);
            line.Skip(hex);
            line.Raw("\""u8);
        }

        line.Raw("}"u8);
        to.Advance(line.Written);
    }

    /// <summary>A line being written into a span that is large enough for it (the caller sizes it).</summary>
    private ref struct Line(Span<byte> span)
    {
        private readonly Span<byte> _span = span;

        public int Written { get; private set; }

        public readonly Span<byte> Rest => _span[Written..];

        public void Skip(int count) => Written += count;

        public void Raw(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(_span[Written..]);
            Written += bytes.Length;
        }

        public void Number(ReadOnlySpan<byte> name, long value)
        {
            Raw(name);
            System.Buffers.Text.Utf8Formatter.TryFormat(value, _span[Written..], out var length);
            Written += length;
        }

        public void Optional(ReadOnlySpan<byte> name, string? value)
        {
            if (!string.IsNullOrEmpty(value))
            {
                String(name, value);
            }
        }

        public void String(ReadOnlySpan<byte> name, string value)
        {
            Raw(name);
            _span[Written++] = (byte)'"';
            if (value.AsSpan().IndexOfAnyExcept(Verbatim) < 0)
            {
                System.Text.Ascii.FromUtf16(value, _span[Written..], out var length);
                Written += length;
            }
            else
            {
                // The encoder replaces a lone surrogate with U+FFFD rather than failing, so any string can be logged.
                Written += System.Text.Encoding.UTF8.GetBytes(JavaScriptEncoder.UnsafeRelaxedJsonEscaping.Encode(value), _span[Written..]);
            }

            _span[Written++] = (byte)'"';
        }
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

    private ValueTask<Stream> OpenAsync()
    {
        if (_config.Path == "stdout")
        {
            return ValueTask.FromResult(_stream ??= Console.OpenStandardOutput());
        }

        if (_stream is null)
        {
            // A path that is not a regular file (/dev/stdout in a container, where it is a pipe; a named pipe; a socket)
            // has no length and no end to seek to: it is written as it is, and never rotated. A file that exists is
            // opened without creating it and, when it can seek, written at its end, as FileMode.Append would; Append
            // itself refuses what cannot seek, and a probe that opened and closed a pipe would end its reader's input.
            FileStream file;
            if (File.Exists(_config.Path))
            {
                file = new FileStream(_config.Path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
                if (file.CanSeek)
                {
                    file.Seek(0, SeekOrigin.End);
                }
            }
            else
            {
                file = new FileStream(_config.Path, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
            }

            _size = file.CanSeek ? file.Length : 0;
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
