using System.Security.Cryptography;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// Watches the config file and applies each valid change; an invalid one is logged with every error and
/// the running revision keeps serving. Uses file-system events for speed plus a 1s poll of the content hash,
/// because editors that replace files and some file systems lose events. The OpenAPI documents that services
/// import from files are part of the hash (found by the poll), so editing one reloads too; documents imported
/// from a URL are fetched again whenever the config reloads, but not watched.
/// </summary>
internal sealed partial class ConfigFileWatcher : IDisposable
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan Debounce = TimeSpan.FromMilliseconds(150);

    private readonly string _path;
    private readonly Func<string, string?>? _environment;
    private readonly GatewayRuntime _runtime;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private FileSystemWatcher? _watcher;
    private ITimer? _poll;
    private ITimer? _debounce;
    private byte[] _lastHash;
    private string[] _documents;

    public ConfigFileWatcher(string path, GatehouseConfig current, Func<string, string?>? environment, GatewayRuntime runtime, TimeProvider time, ILoggerFactory loggers)
    {
        _path = Path.GetFullPath(path);
        _environment = environment;
        _runtime = runtime;
        _time = time;
        _logger = loggers.CreateLogger("Gatehouse.ConfigWatcher");
        _documents = DocumentsOf(current);
        _lastHash = HashOf(_path, _documents) ?? [];
    }

    public void Start()
    {
        var dir = Path.GetDirectoryName(_path)!;
        _watcher = new FileSystemWatcher(dir, Path.GetFileName(_path))
        {
            NotifyFilter = NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.FileName | NotifyFilters.CreationTime,
        };
        _watcher.Changed += (_, _) => Schedule();
        _watcher.Created += (_, _) => Schedule();
        _watcher.Renamed += (_, _) => Schedule();
        _watcher.EnableRaisingEvents = true;
        _poll = _time.CreateTimer(_ => Check(), null, PollInterval, PollInterval);
    }

    /// <summary>Checks the file now; applies it when its content changed. Returns true when a new revision went live.</summary>
    public bool Check()
    {
        lock (_lock)
        {
            var hash = HashOf(_path, _documents);
            if (hash is null || hash.AsSpan().SequenceEqual(_lastHash))
            {
                return false;
            }

            _lastHash = hash;
            var result = ConfigLoader.LoadFile(_path, _environment);
            if (!result.IsValid)
            {
                LogInvalid(_logger, _path, result.Errors.Count);
                foreach (var error in result.Errors)
                {
                    LogError(_logger, error.ToString());
                }

                return false;
            }

            var errors = _runtime.Apply(result.Config!);
            foreach (var error in errors)
            {
                LogError(_logger, error.ToString());
            }

            if (errors.Count == 0)
            {
                // The new config may import other documents; watch those from now on.
                _documents = DocumentsOf(result.Config!);
                _lastHash = HashOf(_path, _documents) ?? _lastHash;
            }

            return errors.Count == 0;
        }
    }

    private void Schedule()
    {
        lock (_lock)
        {
            _debounce?.Dispose();
            _debounce = _time.CreateTimer(_ => Check(), null, Debounce, Timeout.InfiniteTimeSpan);
        }
    }

    private static string[] DocumentsOf(GatehouseConfig config) =>
        [.. config.Services.Values.Select(s => s.Openapi?.File).OfType<string>().Distinct(StringComparer.Ordinal)];

    private static byte[]? HashOf(string path, string[] documents)
    {
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            hash.AppendData(File.ReadAllBytes(path));
            foreach (var document in documents)
            {
                // A document that is missing now hashes as empty: the reload then reports it.
                hash.AppendData(File.Exists(document) ? File.ReadAllBytes(document) : []);
            }

            return hash.GetHashAndReset();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // mid-write or briefly missing while an editor replaces it; the next event or poll retries.
        }
    }

    public void Dispose()
    {
        _watcher?.Dispose();
        _poll?.Dispose();
        lock (_lock)
        {
            _debounce?.Dispose();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path} changed but is not valid ({Count} errors); the running revision keeps serving")]
    private static partial void LogInvalid(ILogger logger, string path, int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "  {Error}")]
    private static partial void LogError(ILogger logger, string error);
}
