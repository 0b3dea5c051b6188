using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// <c>gateway.observability.accessLog</c>: one JSON line per request, written by a background writer. It never holds
/// credentials, cookies, key query parameters or bodies.
/// </summary>
[BindingRules(typeof(Loading.AccessLogRules))]
public sealed record AccessLogConfig
{
    /// <summary>Where: <c>stdout</c>, or a file path (relative to the config file).</summary>
    [DocType("`stdout` or path")]
    [RequiredKey("where to write, 'stdout' or a file path")]
    [FilePath]
    public required string Path { get; init; }

    /// <summary>Share of successful requests (status below 400) logged. Errors are always logged.</summary>
    [Share]
    public double SampleRate { get; init; } = 1.0;

    /// <summary>Log only requests answered with 400 or more (or aborted).</summary>
    public bool ErrorsOnly { get; init; }

    /// <summary>A file is rotated (renamed <c>NAME.1</c>, older ones shifted) when it reaches this size; at least 4KB.</summary>
    [Size]
    public long MaxFileSize { get; init; } = 100L * 1024 * 1024;

    /// <summary>How many rotated files are kept beside the current one.</summary>
    [Minimum(0)]
    public int MaxFiles { get; init; } = 5;

    /// <summary>Lines waiting for the writer; when full, lines are dropped and counted (<c>gatehouse.access_log.dropped</c>).</summary>
    [Minimum(1)]
    public int BufferSize { get; init; } = 16_384;
}
