using Gatehouse.Gateway.Hosting;
using Gatehouse.Model.Config;
using Gatehouse.Model.Validation;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Runtime;

/// <summary>
/// Holds the live <see cref="GatewaySnapshot"/> and applies new configs all-or-nothing: a config that does
/// not compile is refused and the last good snapshot keeps serving. Requests read <see cref="Current"/>
/// once and finish on the snapshot they read.
/// </summary>
internal sealed partial class GatewayRuntime : IAsyncDisposable
{
    private readonly Lock _applyLock = new();
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly List<Task> _retiring = [];
    private volatile GatewaySnapshot? _current;
    private long _revision;

    public GatewayRuntime(TimeProvider time, ILoggerFactory loggers)
    {
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger("Gatehouse.Runtime");
    }

    /// <summary>The snapshot serving new requests. Throws before the first successful <see cref="Apply"/>.</summary>
    public GatewaySnapshot Current => _current ?? throw new InvalidOperationException("No configuration has been applied yet.");

    /// <summary>Raised after a new snapshot went live.</summary>
    public event Action<GatewaySnapshot>? Applied;

    /// <summary>Compiles and swaps in <paramref name="config"/>; returns its errors (none when it went live).</summary>
    public IReadOnlyList<ConfigError> Apply(GatehouseConfig config)
    {
        GatewaySnapshot snapshot;
        lock (_applyLock)
        {
            var result = SnapshotCompiler.Compile(config, _revision + 1, _current, _time, _loggers);
            if (result.Snapshot is null)
            {
                LogRejected(_logger, ConfigFileWatcher.ErrorCount(result.Errors.Count), _revision);
                return result.Errors;
            }

            snapshot = result.Snapshot;
            var previous = _current;
            foreach (var upstream in result.Created)
            {
                upstream.Start();
            }

            _revision = snapshot.Revision;
            _current = snapshot;
            var drain = config.Gateway.DrainTimeout;
            foreach (var old in result.Retired)
            {
                _retiring.Add(old.RetireAsync(drain));
            }

            _retiring.RemoveAll(t => t.IsCompleted);
            LogApplied(_logger, snapshot.Revision, config.Services.Count, config.Routes.Count);
            if (previous is not null)
            {
                ReportStartOnlyChanges(previous.Config.Gateway, config.Gateway);
            }
        }

        Applied?.Invoke(snapshot);
        return [];
    }

    /// <summary>Warns about settings that Kestrel took at start: a reload cannot change them, and must not do so silently.</summary>
    private void ReportStartOnlyChanges(GatewayConfig before, GatewayConfig after)
    {
        if (!before.Listeners.SequenceEqual(after.Listeners))
        {
            LogNeedsRestart(_logger, "gateway.listeners");
        }

        if (before.MaxRequestHeadersSize != after.MaxRequestHeadersSize)
        {
            LogNeedsRestart(_logger, "gateway.maxRequestHeadersSize");
        }
    }

    public async ValueTask DisposeAsync()
    {
        Task[] pending;
        GatewaySnapshot? last;
        lock (_applyLock)
        {
            pending = [.. _retiring];
            last = _current;
            _current = null;
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        if (last is not null)
        {
            foreach (var upstream in last.Upstreams.Values)
            {
                await upstream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Revision {Revision} is live: {Services} services, {Routes} routes")]
    private static partial void LogApplied(ILogger logger, long revision, int services, int routes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Setting} changed, but it is read at start: the running process keeps the old value; restart to apply it")]
    private static partial void LogNeedsRestart(ILogger logger, string setting);

    [LoggerMessage(Level = LogLevel.Error, Message = "Configuration refused ({Errors}); revision {Revision} keeps serving")]
    private static partial void LogRejected(ILogger logger, string errors, long revision);
}
