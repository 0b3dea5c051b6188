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
    private readonly Lock _checkLock = new();
    private FileSystemWatcher? _watcher;
    private ITimer? _poll;
    private ITimer? _debounce;
    private byte[]? _candidateHash;
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
        _lastHash = ReadOrNull(_path) is { } content ? HashOf(content, _documents) ?? [] : [];
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
        _poll = _time.CreateTimer(_ => CheckUnlessBusy(), null, PollInterval, PollInterval);
    }

    /// <summary>Checks the file now; applies it when its content changed. Returns true when a new revision went live.</summary>
    public bool Check() => Check(settle: false);

    /// <param name="settle">
    /// When true (file events and polls), a changed content is applied only once it has been read the same twice,
    /// <see cref="Debounce"/> apart: a tool that writes the file in pieces must not get a half-written file
    /// applied, which could be valid YAML and a different config (say, the services without the routes yet).
    /// </param>
    private bool Check(bool settle)
    {
        lock (_checkLock)
        {
            var content = ReadOrNull(_path);
            var hash = content is null ? null : HashOf(content, _documents);
            if (hash is null || hash.AsSpan().SequenceEqual(_lastHash))
            {
                _candidateHash = null;
                return false;
            }

            if (settle && (_candidateHash is null || !hash.AsSpan().SequenceEqual(_candidateHash)))
            {
                _candidateHash = hash;
                Schedule();
                return false;
            }

            _candidateHash = null;
            _lastHash = hash;
            var result = ConfigLoader.LoadFile(_path, _environment);
            if (!result.IsValid)
            {
                _runtime.Refused();
                LogInvalid(_logger, _path, ErrorCount(result.Errors.Count));
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

            var documents = DocumentsOf(result.Config!);
            if (errors.Count == 0 && !documents.SequenceEqual(_documents))
            {
                // The new config imports other documents; watch those from now on. The config's content is the
                // one this load read, so an edit made to it meanwhile still differs at the next tick.
                _documents = documents;
                _lastHash = HashOf(content!, _documents) ?? _lastHash;
            }

            return errors.Count == 0;
        }
    }

    /// <summary>
    /// A load can take seconds (it fetches OpenAPI documents by URL); timer ticks meanwhile are skipped rather
    /// than queued on the lock. A change made during the load is seen by the next tick, since the hash compared
    /// then is the one of the content that load read.
    /// </summary>
    internal void CheckUnlessBusy()
    {
        if (!_checkLock.TryEnter())
        {
            return;
        }

        try
        {
            Check(settle: true);
        }
        finally
        {
            _checkLock.Exit();
        }
    }

    private void Schedule()
    {
        lock (_lock)
        {
            _debounce?.Dispose();
            _debounce = _time.CreateTimer(_ => CheckUnlessBusy(), null, Debounce, Timeout.InfiniteTimeSpan);
        }
    }

    private static string[] DocumentsOf(GatehouseConfig config) =>
        [.. config.Services.Values.Select(s => s.Openapi?.File).OfType<string>().Distinct(StringComparer.Ordinal)];

    private static byte[]? ReadOrNull(string path)
    {
        try
        {
            return File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null; // mid-write or briefly missing while an editor replaces it; the next event or poll retries.
        }
    }

    private static byte[]? HashOf(byte[] config, string[] documents)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        hash.AppendData(config);
        foreach (var document in documents)
        {
            // A missing document hashes as empty, so it coming back is a change; the reload reports it while it is gone.
            if (File.Exists(document))
            {
                if (ReadOrNull(document) is not { } bytes)
                {
                    return null;
                }

                hash.AppendData(SHA256.HashData(bytes));
            }
            else
            {
                hash.AppendData(SHA256.HashData([]));
            }
        }

        return hash.GetHashAndReset();
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

    /// <summary>"1 error", "3 errors".</summary>
    internal static string ErrorCount(int count) => count == 1 ? "1 error" : $"{count} errors";

    [LoggerMessage(Level = LogLevel.Error, Message = "{Path} changed but is not valid ({Errors}); the running revision keeps serving")]
    private static partial void LogInvalid(ILogger logger, string path, string errors);

    [LoggerMessage(Level = LogLevel.Error, Message = "  {Error}")]
    private static partial void LogError(ILogger logger, string error);
}
