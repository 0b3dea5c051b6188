using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// One issuer's signing keys, loaded from its <c>jwksFile</c> or <c>jwksUrl</c> and refreshed every
/// <c>jwksRefresh</c> off the request path. A failed refresh keeps the last good key set (logged once per outage),
/// so an identity provider that is down does not lock every client out. A token naming an unknown <c>kid</c> may
/// trigger one early refresh, at most every <see cref="EarlyRefreshInterval"/>, so a stream of forged kids cannot
/// turn the gateway into a load generator against the JWKS host.
/// </summary>
internal sealed partial class JwksCache : IAsyncDisposable
{
    public static readonly TimeSpan EarlyRefreshInterval = TimeSpan.FromSeconds(30);
    public static readonly TimeSpan FetchTimeout = TimeSpan.FromSeconds(5);
    public const int MaxJwksBytes = 1024 * 1024;

    private readonly string _issuerName;
    private readonly JwtIssuerConfig _config;
    private readonly HttpClient _http;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _lock = new();
    private int _disposed;
    private JwksKeySet _current = JwksKeySet.Empty;
    private Task<JwksKeySet>? _inflight;
    private long _lastEarlyRefresh;
    private bool _everEarlyRefreshed;
    private bool _failing;
    private ITimer? _timer;

    /// <param name="http">Used for <c>jwksUrl</c>; not disposed here. Use one without automatic redirects.</param>
    public JwksCache(string issuerName, JwtIssuerConfig config, HttpClient http, TimeProvider time, ILogger<JwksCache> logger)
    {
        _issuerName = issuerName;
        _config = config;
        _http = http;
        _time = time;
        _logger = logger;
    }

    /// <summary>The key set in use. Read once per validation; never null, empty until the first successful load.</summary>
    public JwksKeySet Current => Volatile.Read(ref _current);

    /// <summary>Loads the keys once (a failure is logged, not thrown) and starts the periodic refresh.</summary>
    public async Task StartAsync()
    {
        await RefreshAsync().ConfigureAwait(false);
        lock (_lock)
        {
            _timer ??= _time.CreateTimer(static s => _ = ((JwksCache)s!).RefreshAsync(), this, _config.JwksRefresh, _config.JwksRefresh);
        }
    }

    /// <summary>
    /// Called when a token names a <c>kid</c> that <see cref="Current"/> lacks: refreshes now unless an early
    /// refresh happened within <see cref="EarlyRefreshInterval"/>, joining a refresh already in flight.
    /// </summary>
    public Task<JwksKeySet> RefreshForUnknownKeyAsync()
    {
        lock (_lock)
        {
            if (_inflight is { } running)
            {
                return running;
            }

            var now = _time.GetTimestamp();
            if (_everEarlyRefreshed && _time.GetElapsedTime(_lastEarlyRefresh, now) < EarlyRefreshInterval)
            {
                return Task.FromResult(Current);
            }

            _everEarlyRefreshed = true;
            _lastEarlyRefresh = now;
        }

        return RefreshAsync();
    }

    /// <summary>Reloads the key set now (one at a time: a caller during a refresh gets that refresh's result).</summary>
    public Task<JwksKeySet> RefreshAsync()
    {
        lock (_lock)
        {
            return _inflight ??= RunRefreshAsync();
        }
    }

    private async Task<JwksKeySet> RunRefreshAsync()
    {
        // Yield first so the caller's lock is released before any I/O, and a timer thread never runs the fetch inline.
        await Task.Yield();
        try
        {
            var keys = JwksKeySet.Parse(await LoadAsync().ConfigureAwait(false));
            Volatile.Write(ref _current, keys);
            if (_failing)
            {
                _failing = false;
                LogRecovered(_logger, _issuerName, keys.ByKid.Count);
            }

            return keys;
        }
        catch (Exception e) when (e is HttpRequestException or IOException or FormatException or OperationCanceledException or UnauthorizedAccessException)
        {
            if (!_failing && !_stopping.IsCancellationRequested)
            {
                _failing = true;
                LogRefreshFailed(_logger, _issuerName, Current.ByKid.Count, e.Message);
            }

            return Current;
        }
        finally
        {
            lock (_lock)
            {
                _inflight = null;
            }
        }
    }

    private async Task<string> LoadAsync()
    {
        if (_config.JwksFile is { } file)
        {
            if (new FileInfo(file).Length > MaxJwksBytes)
            {
                throw new FormatException($"the JWKS file is larger than {MaxJwksBytes} bytes.");
            }

            return await File.ReadAllTextAsync(file, _stopping.Token).ConfigureAwait(false);
        }

        using var timeout = new CancellationTokenSource(FetchTimeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stopping.Token);
        using var response = await _http.GetAsync(_config.JwksUrl, HttpCompletionOption.ResponseHeadersRead, linked.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"the JWKS URL answered {(int)response.StatusCode}.");
        }

        if (response.Content.Headers.ContentLength > MaxJwksBytes)
        {
            throw new FormatException($"the JWKS is larger than {MaxJwksBytes} bytes.");
        }

        await using var body = await response.Content.ReadAsStreamAsync(linked.Token).ConfigureAwait(false);
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await body.ReadAsync(chunk, linked.Token).ConfigureAwait(false)) > 0)
        {
            if (buffer.Length + read > MaxJwksBytes)
            {
                throw new FormatException($"the JWKS is larger than {MaxJwksBytes} bytes.");
            }

            buffer.Write(chunk, 0, read);
        }

        return System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    public async ValueTask DisposeAsync()
    {
        // Idempotent: the runtime that owns the cache is disposed both by the host and by the DI container.
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Task? inflight;
        lock (_lock)
        {
            _timer?.Dispose();
            _timer = null;
            inflight = _inflight;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        if (inflight is not null)
        {
            await inflight.ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "JWKS of issuer '{Issuer}' could not be refreshed; keeping the last good {KeyCount} key(s) until it can: {Reason}")]
    private static partial void LogRefreshFailed(ILogger logger, string issuer, int keyCount, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "JWKS of issuer '{Issuer}' refreshed again, {KeyCount} key(s).")]
    private static partial void LogRecovered(ILogger logger, string issuer, int keyCount);
}
