namespace Gatehouse.Model.Config;

/// <summary>
/// <c>gateway.observability.accessLog</c>: one JSON line per request, written by a background writer. It never holds
/// credentials, cookies, key query parameters or bodies.
/// </summary>
public sealed record AccessLogConfig
{
    /// <summary>Where: <c>stdout</c>, or a file path (relative to the config file). Required.</summary>
    public required string Path { get; init; }

    /// <summary>Share of successful requests (status below 400) logged, 0 to 1. Default 1 (all). Errors are always logged.</summary>
    public double SampleRate { get; init; } = 1.0;

    /// <summary>Log only requests answered with 400 or more (or aborted). Default false.</summary>
    public bool ErrorsOnly { get; init; }

    /// <summary>A file is rotated (renamed <c>NAME.1</c>, older ones shifted) when it reaches this size. Default 100MB.</summary>
    public long MaxFileSize { get; init; } = 100L * 1024 * 1024;

    /// <summary>How many rotated files are kept beside the current one. Default 5.</summary>
    public int MaxFiles { get; init; } = 5;

    /// <summary>Lines waiting for the writer; when full, lines are dropped and counted (<c>gatehouse.access_log.dropped</c>). Default 16384.</summary>
    public int BufferSize { get; init; } = 16_384;
}
