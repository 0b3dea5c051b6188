using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Authentication;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Upstreams;
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
    private readonly PeriodicLoop _sweep;
    private readonly Lazy<HttpClient> _jwksHttp = new(() => new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false }) { Timeout = JwksCache.FetchTimeout });
    private Dictionary<string, (string Fingerprint, JwksCache Cache)> _jwks = new(StringComparer.Ordinal);
    private volatile GatewaySnapshot? _current;
    private volatile bool _draining;
    private readonly CancellationTokenSource _listenersClosing = new();
    private long _revision;
    private int _disposed;

    public GatewayRuntime(TimeProvider time, ILoggerFactory loggers)
    {
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger("Gatehouse.Runtime");
        Counters = new LimitCounters();
        Engine = new AccessEngine(new Limiter(Counters, time, loggers.CreateLogger<Limiter>()), time, loggers.CreateLogger("Gatehouse.Access"));

        // Counters whose window has passed are dropped once a minute, off the request path (and so are other per-application
        // windows registered with OnSweep: the AI gateway's token budgets).
        _sweep = new PeriodicLoop(TimeSpan.FromMinutes(1), time, _ =>
        {
            var now = time.GetUtcNow();
            Counters.Sweep(now);
            Action<DateTimeOffset>[] sweeps;
            lock (_sweeps)
            {
                sweeps = [.. _sweeps];
            }

            foreach (var sweep in sweeps)
            {
                sweep(now);
            }

            return Task.CompletedTask;
        });
    }

    private readonly List<Action<DateTimeOffset>> _sweeps = [];

    /// <summary>Runs <paramref name="sweep"/> with the limit counters' sweep, once a minute off the request path.</summary>
    internal void OnSweep(Action<DateTimeOffset> sweep)
    {
        lock (_sweeps)
        {
            _sweeps.Add(sweep);
        }
    }

    /// <summary>Every application's limit counters; they outlive snapshots, so a reload does not refill a quota.</summary>
    public LimitCounters Counters { get; }

    /// <summary>The decision engine of authenticate, authorize and limit, shared by the proxy and the service API.</summary>
    public AccessEngine Engine { get; }

    /// <summary>
    /// The response cache of routes with a <c>cache</c> policy; made with the first config that has one, kept across
    /// reloads while <c>gateway.cache</c> stays the same. Null until then.
    /// </summary>
    public Policies.Caching.ResponseCacheStore? Cache { get; private set; }

    private Action<string, string>? _cacheInvalidated;

    /// <summary>
    /// Told of every unsafe request's invalidation of a path in this node's memory cache (route id, request path), whichever
    /// cache store is current: a node that shares a store with others passes it on to them. Must not block.
    /// </summary>
    public Action<string, string>? CacheInvalidated
    {
        get => _cacheInvalidated;
        set
        {
            _cacheInvalidated = value;
            if (Cache is { } cache)
            {
                cache.Invalidated = value;
            }
        }
    }

    private TokenIntrospector? _introspection;

    /// <summary>The introspection client: kept (with its cache of active tokens) while <c>gateway.introspection</c> stays the same.</summary>
    private TokenIntrospector? ReconcileIntrospection(GatehouseConfig config)
    {
        if (config.Gateway.Introspection is not { } wanted)
        {
            return null;
        }

        if (_introspection?.Config != wanted)
        {
            // The old client may still serve requests on the old snapshot; it is left to the garbage collector.
            _introspection = new TokenIntrospector(wanted, _time, _loggers.CreateLogger("Gatehouse.Introspection"));
        }

        return _introspection;
    }

    private Policies.Caching.ResponseCacheStore? ReconcileCache(GatehouseConfig config)
    {
        var wanted = config.Routes.Values.Any(r => r.Policies?.Cache is not null) || config.Services.Values.Any(s => s.Policies?.Cache is not null);
        if (!wanted)
        {
            return Cache;
        }

        if (Cache is null || Cache.Config != config.Gateway.Cache)
        {
            // The old store (if any) is dropped with its entries; requests still on the old snapshot keep using it until they
            // end, so it is disposed (its Redis connection closed) only after the drain timeout.
            if (Cache is { } old)
            {
                _ = Task.Delay(config.Gateway.DrainTimeout + TimeSpan.FromSeconds(5)).ContinueWith(_ => old.Dispose(), TaskScheduler.Default);
            }

            Cache = new Policies.Caching.ResponseCacheStore(config.Gateway.Cache, _loggers.CreateLogger("Gatehouse.Cache")) { Invalidated = _cacheInvalidated };
        }

        return Cache;
    }

    /// <summary>The snapshot serving new requests. Throws before the first successful <see cref="Apply(GatehouseConfig)"/>.</summary>
    /// <summary>True when a listener redirects to https (<c>redirectToHttps</c>); set as the listeners are bound.</summary>
    internal bool HttpsRedirects { get; set; }

    public GatewaySnapshot Current => _current ?? throw new InvalidOperationException("No configuration has been applied yet.");

    /// <summary>Raised when an applied revision no longer has applications the one before it had, with their ids.</summary>
    public event Action<IReadOnlyList<string>>? ApplicationsRemoved;

    /// <summary>True once the gateway began to drain: readiness answers 503 from then on.</summary>
    public bool Draining => _draining;

    /// <summary>Marks the gateway as draining; returns false when it already was.</summary>
    internal bool BeginDrain()
    {
        if (_draining)
        {
            return false;
        }

        _draining = true;
        return true;
    }

    /// <summary>Fires when a drain closes the listeners: open WebSocket tunnels then send their clients a close frame.</summary>
    public CancellationToken ListenersClosing => _listenersClosing.Token;

    /// <summary>Fires <see cref="ListenersClosing"/>.</summary>
    internal void CloseListeners()
    {
        _draining = true;
        try
        {
            _listenersClosing.Cancel();
        }
        catch (AggregateException)
        {
            // A callback failed (a tunnel already gone); the others ran.
        }
    }

    /// <summary>
    /// Applies the live config again when a service's TLS files (<c>tls.caFile</c>, <c>tls.clientCertificate</c>) changed
    /// since its upstream was made: their stamps are in the upstream's fingerprint, so the service gets a new upstream
    /// that reads the renewed files, and the old one finishes its requests and closes (as on any reload that changes the
    /// service). Files that do not load yet are tried again when they change again. Returns whether a snapshot went live.
    /// </summary>
    internal bool RenewIfTlsFilesChanged()
    {
        var current = _current;
        if (current is null)
        {
            return false;
        }

        var changed = current.Upstreams.Values.FirstOrDefault(u => Upstream.HasTlsFiles(u.Config) && Upstream.FingerprintOf(u.Config) != u.Fingerprint);
        if (changed is null)
        {
            return false;
        }

        var fingerprint = Upstream.FingerprintOf(changed.Config);
        if (fingerprint == _refusedTlsFiles)
        {
            return false;
        }

        LogTlsFilesChanged(_logger, changed.Name);
        IReadOnlyList<ConfigError> errors;
        try
        {
            errors = Apply(current.Config);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A key that is not the certificate's is an ArgumentException, a PEM that is not one a CryptographicException,
            // a file half written an IOException: each leaves the service as it was, and the loop goes on.
            errors = [new ConfigError($"services.{changed.Name}.tls", e.Message)];
        }

        if (errors.Count > 0)
        {
            _refusedTlsFiles = fingerprint;
            LogTlsFilesRefused(_logger, changed.Name, errors[0].Message);
            return false;
        }

        return true;
    }

    private string? _refusedTlsFiles;

    /// <summary>Raised after a new snapshot went live.</summary>
    public event Action<GatewaySnapshot>? Applied;

    /// <summary>Compiles and swaps in <paramref name="config"/>; returns its errors (none when it went live).</summary>
    public IReadOnlyList<ConfigError> Apply(GatehouseConfig config) => Apply(config, announce: true);

    /// <summary>
    /// Counts a configuration refused before it could be applied (a changed file or a fetched revision that does not load
    /// or validate, or a hybrid node's snapshot that fails its signature or is not newer) with the ones
    /// <see cref="Apply(GatehouseConfig)"/> refuses, in <c>gatehouse.config.reloads</c>, under <paramref name="reason"/>
    /// (<see cref="Observability.GatewayMetrics.Reloaded"/> lists them).
    /// </summary>
    internal void Refused(string reason = Observability.GatewayMetrics.InvalidConfig) =>
        Observability.GatewayMetrics.Reloaded(Volatile.Read(ref _revision), applied: false, reason);

    /// <summary>
    /// As <see cref="Apply(GatehouseConfig)"/>; without <paramref name="announce"/> the "is live" line waits for
    /// <see cref="AnnounceLive"/> (the first revision is not live until the listeners are bound).
    /// </summary>
    internal IReadOnlyList<ConfigError> Apply(GatehouseConfig config, bool announce)
    {
        GatewaySnapshot snapshot;
        lock (_applyLock)
        {
            var started = _time.GetTimestamp();
            var (jwks, jwt) = ReconcileJwks(config);
            var cache = ReconcileCache(config);
            var result = SnapshotCompiler.Compile(config, _revision + 1, _current, _time, _loggers, Counters, jwt, cache, ReconcileIntrospection(config));
            if (result.Snapshot is null)
            {
                DisposeUnused(jwks.Values.Select(e => e.Cache), keep: _jwks.Values.Select(e => e.Cache));
                LogRejected(_logger, ConfigFileWatcher.ErrorCount(result.Errors.Count), _revision);
                Observability.GatewayMetrics.Reloaded(_revision, applied: false);
                return result.Errors;
            }

            DisposeUnused(_jwks.Values.Select(e => e.Cache), keep: jwks.Values.Select(e => e.Cache));
            _jwks = jwks;
            _sweep.Start();

            snapshot = result.Snapshot;
            var previous = _current;
            // Before the new upstreams start (their first health probes include registered targets) and go live.
            PushRegistrations(snapshot);
            // A kept upstream gets the credential of this revision (it is not part of what decides keeping it).
            foreach (var (name, upstream) in snapshot.Upstreams)
            {
                upstream.Credential = config.Services[name].Credential;
            }

            foreach (var upstream in result.Created)
            {
                if (previous is not null && previous.Upstreams.TryGetValue(upstream.Name, out var replaced))
                {
                    upstream.InheritHealth(replaced);
                }

                upstream.Start();
            }

            _revision = snapshot.Revision;
            _current = snapshot;
            if (ApplicationsRemoved is { } removedHandler && previous?.Access is { } before && snapshot.Access is { } after)
            {
                // Off the apply's path: a config of 100,000 applications takes milliseconds to compare.
                _ = Task.Run(() =>
                {
                    var removed = before.Applications.Keys.Where(id => !after.Applications.ContainsKey(id)).ToArray();
                    if (removed.Length > 0)
                    {
                        removedHandler(removed);
                    }
                });
            }

            Observability.GatewayMetrics.Reloaded(snapshot.Revision, applied: true);
            var drain = config.Gateway.DrainTimeout;
            foreach (var old in result.Retired)
            {
                _retiring.Add(old.RetireAsync(drain));
            }

            _retiring.RemoveAll(t => t.IsCompleted);
            var line = (snapshot.Revision, config.Services.Count, config.Routes.Count, config.Applications.Count, (long)_time.GetElapsedTime(started).TotalMilliseconds);
            if (announce)
            {
                Announce(line);
            }
            else
            {
                _unannounced = line;
            }

            if (previous is not null)
            {
                ReportStartOnlyChanges(previous.Config.Gateway, config.Gateway);
            }
        }

        Applied?.Invoke(snapshot);
        return [];
    }

    /// <summary>
    /// Key caches for the config's issuers: an issuer whose settings did not change keeps its cache (and its keys); a
    /// new or changed one gets a new cache, whose first load starts now without waiting (a token that arrives before
    /// it finishes joins it, as for an unknown key).
    /// </summary>
    private (Dictionary<string, (string Fingerprint, JwksCache Cache)>, JwtValidator?) ReconcileJwks(GatehouseConfig config)
    {
        var issuers = config.Gateway.Jwt.Issuers;
        var caches = new Dictionary<string, (string Fingerprint, JwksCache Cache)>(StringComparer.Ordinal);
        if (issuers.Count == 0)
        {
            return (caches, null);
        }

        var models = new List<JwtIssuerModel>();
        foreach (var (name, issuer) in issuers)
        {
            var fingerprint = string.Join("\n", issuer.Issuer, issuer.JwksFile, issuer.JwksUrl, issuer.JwksRefresh);
            if (!_jwks.TryGetValue(name, out var entry) || entry.Fingerprint != fingerprint)
            {
                entry = (fingerprint, new JwksCache(name, issuer, _jwksHttp.Value, _time, _loggers.CreateLogger<JwksCache>()));
                _ = entry.Cache.StartAsync();
            }

            caches[name] = entry;
            models.Add(new JwtIssuerModel(name, issuer, entry.Cache, _time));
        }

        return (caches, new JwtValidator(models));
    }

    private void DisposeUnused(IEnumerable<JwksCache> caches, IEnumerable<JwksCache> keep)
    {
        var kept = keep.ToHashSet();
        foreach (var cache in caches.Where(c => !kept.Contains(c)).ToList())
        {
            _retiring.Add(cache.DisposeAsync().AsTask());
        }
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

        // Whether the service API runs, and where, is decided at start; its tokens and decisions follow reloads.
        if (before.ServiceApi?.Url != after.ServiceApi?.Url)
        {
            LogNeedsRestart(_logger, "gateway.serviceApi.url");
        }

        // What records requests is set up once at start (GatewayTelemetry: the usage queue and aggregator, the metrics
        // and their listener, the access log's writer and file); only the access log's sampling is read per request.
        var (was, now) = (before.Observability, after.Observability);
        if (was.Usage != now.Usage)
        {
            LogNeedsRestart(_logger, "gateway.observability.usage");
        }

        if (was.Metrics != now.Metrics)
        {
            LogNeedsRestart(_logger, "gateway.observability.metrics");
        }

        if (was.AccessLog is null != now.AccessLog is null
            || (was.AccessLog is { } log && log with { SampleRate = now.AccessLog!.SampleRate, ErrorsOnly = now.AccessLog.ErrorsOnly } != now.AccessLog))
        {
            LogNeedsRestart(_logger, "gateway.observability.accessLog");
        }
    }

    private (long Revision, int Services, int Routes, int Applications, long Milliseconds)? _unannounced;

    /// <summary>Logs the "is live" line that <see cref="Apply(GatehouseConfig, bool)"/> held back, once the listeners are bound.</summary>
    internal void AnnounceLive()
    {
        if (_unannounced is { } line)
        {
            _unannounced = null;
            Announce(line);
        }
    }

    private void Announce((long Revision, int Services, int Routes, int Applications, long Milliseconds) line) =>
        LogApplied(_logger, line.Revision, Count(line.Services, "service"), Count(line.Routes, "route"), Count(line.Applications, "application"), line.Milliseconds);

    /// <summary>"1 service", "2 services".</summary>
    private static string Count(int n, string noun) => Model.Text.Plural.Count(n, noun);

    public async ValueTask DisposeAsync()
    {
        // Both GatewayHost and the DI container dispose the runtime.
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Task[] pending;
        GatewaySnapshot? last;
        ITimer? expiry;
        lock (_applyLock)
        {
            pending = [.. _retiring];
            last = _current;
            _current = null;
            expiry = _expiry;
        }

        await _sweep.DisposeAsync().ConfigureAwait(false);
        if (expiry is not null)
        {
            await expiry.DisposeAsync().ConfigureAwait(false);
        }

        await Task.WhenAll(pending).ConfigureAwait(false);
        foreach (var (_, cache) in _jwks.Values)
        {
            await cache.DisposeAsync().ConfigureAwait(false);
        }

        if (_jwksHttp.IsValueCreated)
        {
            _jwksHttp.Value.Dispose();
        }

        _introspection?.Dispose();
        Cache?.Dispose();

        if (last is not null)
        {
            foreach (var upstream in last.Upstreams.Values)
            {
                await upstream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Revision {Revision} is live: {Services}, {Routes}, {Applications}; compiled in {Milliseconds} ms")]
    private static partial void LogApplied(ILogger logger, long revision, string services, string routes, string applications, long milliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Setting} changed, but it is read at start: the running process keeps the old value; restart to apply it")]
    private static partial void LogNeedsRestart(ILogger logger, string setting);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: its TLS files changed; its connections are made anew with them")]
    private static partial void LogTlsFilesChanged(ILogger logger, string service);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: its TLS files changed but do not load ({Reason}); it keeps the ones it had until they change again")]
    private static partial void LogTlsFilesRefused(ILogger logger, string service, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Configuration refused ({Errors}); revision {Revision} keeps serving")]
    private static partial void LogRejected(ILogger logger, string errors, long revision);
}
