using System.Net;
using System.Text.Json;
using Gatehouse.Gateway.Discovery;
using Gatehouse.Gateway.Health;
using Gatehouse.Gateway.LoadBalancing;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Upstreams;

/// <summary>
/// The runtime form of a service: its connection pool (one <see cref="HttpMessageInvoker"/>), its current
/// destinations and the policy that picks among them. Survives config reloads that do not change the
/// service's definition, so connections and health state carry over.
/// </summary>
/// <remarks>
/// Background work (DNS discovery, active health checks) runs between <see cref="Start"/> and
/// <see cref="RetireAsync"/>/<see cref="DisposeAsync"/>. The request path (<see cref="Pick()"/>,
/// <see cref="TryBeginRequest"/>, <see cref="EndRequest(Destination, UpstreamOutcome)"/>) takes no lock and does not allocate.
/// </remarks>
internal sealed partial class Upstream : IAsyncDisposable
{
    private readonly ILoadBalancingPolicy _policy;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly OutlierPolicy? _outliers;
    private readonly DnsDestinationResolver? _resolver;
    private readonly ActiveHealthChecker? _healthChecker;
    // Guards the two parts below; taken when discovery or registrations change them, never on the request path.
    private readonly Lock _setLock = new();
    private Destination[] _configured;
    private Destination[] _registered = [];
    private Destination[]? _inherited;
    private volatile Destination[] _destinations;
    private ServiceCredentialConfig? _credential;
    private int _inFlight;
    private int _started;
    private int _disposed;
    private int _retired;
    private TaskCompletionSource? _drained;

    public Upstream(string name, ServiceConfig config, TimeProvider time, ILoggerFactory loggerFactory)
        : this(name, config, time, loggerFactory, resolve: null)
    {
    }

    /// <param name="name">The service name.</param>
    /// <param name="config">The service definition.</param>
    /// <param name="time">Drives passive-health cooldowns, active probe intervals and timeouts, and DNS refresh.</param>
    /// <param name="loggerFactory">Creates the upstream's loggers.</param>
    /// <param name="resolve">DNS lookup for targets given by name; <see cref="DnsDestinationResolver.SystemResolver"/> when null. A test seam.</param>
    internal Upstream(string name, ServiceConfig config, TimeProvider time, ILoggerFactory loggerFactory, Func<string, CancellationToken, Task<IPAddress[]>>? resolve)
    {
        Name = name;
        Config = config;
        Fingerprint = FingerprintOf(config);
        _credential = config.Credential;
        _time = time;
        _logger = loggerFactory.CreateLogger("Gatehouse.Upstream");
        _policy = LoadBalancingPolicies.Create(config.LoadBalancing);
        Hashing = config.LoadBalancing == LoadBalancingPolicy.Hash ? config.Hash ?? new HashConfig() : null;
        Invoker = UpstreamHandlerFactory.Create(config);
        RequestVersion = config.Protocol == UpstreamProtocol.Http2 ? HttpVersion.Version20 : HttpVersion.Version11;
        VersionPolicy = config.Protocol == UpstreamProtocol.Http2 ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower;
        _destinations = [.. config.Targets.Select(t => { var u = new Uri(t.Url); return new Destination(u, u.Host.Trim('[', ']'), t.Weight); })];
        _configured = _destinations;
        _outliers = OutlierPolicy.Create(config, time);
        RetryBudget = new Resilience.RetryBudget(config.RetryBudget, time);
        Gate = config.Concurrency is { } limits ? new Resilience.ConcurrencyGate(limits.MaxRequests, limits.MaxPending) : null;

        var srv = config.Targets.Select(t => t.Srv).ToArray();
        if (_destinations.Any(d => DnsDestinationResolver.IsDnsName(d.Target)) || srv.Contains(true))
        {
            var lookup = srv.Contains(true) || config.DnsServers.Count > 0 ? new DnsLookup(config.DnsServers) : null;
            _resolver = new DnsDestinationResolver(
                name, _destinations, config.DnsRefresh,
                resolve ?? (config.DnsServers.Count > 0 ? lookup!.AddressesAsync : DnsDestinationResolver.SystemResolver), time,
                loggerFactory.CreateLogger("Gatehouse.Discovery"), SetDestinations, srv, lookup is null ? null : lookup.SrvAsync);
            // An SRV name is not a host to connect to: its destinations come from its records.
            _destinations = _configured = [.. _destinations.Where((_, i) => !srv[i])];
        }

        if (config.HealthCheck?.Active is { } active)
        {
            _healthChecker = new ActiveHealthChecker(this, active, time, loggerFactory.CreateLogger("Gatehouse.Health"));
        }
    }

    public string Name { get; }

    public ServiceConfig Config { get; }

    /// <summary>A stable digest of <see cref="Config"/>; equal digests mean the upstream can be reused across a reload.</summary>
    public string Fingerprint { get; }

    /// <summary>
    /// The service's credential in the live config, for every call made to the service: proxied, composed and health
    /// probes. Left out of <see cref="Fingerprint"/>, so a reload that changes only the credential keeps this upstream
    /// and updates this instead (calls already on their way keep the value they read).
    /// </summary>
    public ServiceCredentialConfig? Credential
    {
        get => Volatile.Read(ref _credential);
        internal set => Volatile.Write(ref _credential, value);
    }

    public HttpMessageInvoker Invoker { get; }

    public Version RequestVersion { get; }

    public HttpVersionPolicy VersionPolicy { get; }

    /// <summary>The destinations currently known (healthy or not).</summary>
    public Destination[] Destinations => _destinations;

    /// <summary>Requests being forwarded through this upstream now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>The service's retry budget, shared by its routes.</summary>
    public Resilience.RetryBudget RetryBudget { get; }

    /// <summary>The service's concurrency limits, or null when it has none.</summary>
    public Resilience.ConcurrencyGate? Gate { get; }

    /// <summary>DNS discovery, when a target is given by name; for tests and diagnostics.</summary>
    internal DnsDestinationResolver? Resolver => _resolver;

    /// <summary>Active health checks, when configured; for tests and diagnostics.</summary>
    internal ActiveHealthChecker? HealthChecker => _healthChecker;

    /// <summary>The destinations of targets that registered themselves (a part of <see cref="Destinations"/>).</summary>
    public Destination[] Registered => _registered;

    /// <summary>Replaces the destinations of the configured targets (DNS discovery); destinations that stay keep their state.</summary>
    public void SetDestinations(Destination[] destinations)
    {
        lock (_setLock)
        {
            // The first addresses DNS gives a replacing upstream take the health the replaced one learned for them.
            if (Interlocked.Exchange(ref _inherited, null) is { } previous)
            {
                Inherit(destinations, previous);
            }

            _configured = destinations;
            Publish();
        }
    }

    /// <summary>
    /// Replaces the self-registered targets (weight 1 each) with <paramref name="urls"/>; a URL that stays keeps its
    /// destination and so its health state. A URL that is also a configured target is left to the configured one.
    /// Returns true when the set changed.
    /// </summary>
    public bool SetRegistered(IReadOnlyList<Uri> urls)
    {
        lock (_setLock)
        {
            var configured = Config.Targets.Select(t => Key(new Uri(t.Url))).ToHashSet(StringComparer.Ordinal);
            // The destinations kept, by key: a look-up each, not a scan of them all for each URL (with thousands of
            // instances registered, the scan made every second's update take seconds).
            var current = new Dictionary<string, Destination>(_registered.Length, StringComparer.Ordinal);
            foreach (var destination in _registered)
            {
                current.TryAdd(Key(destination.Target), destination);
            }

            var next = new List<Destination>(urls.Count);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var url in urls)
            {
                var key = Key(url);
                if (configured.Contains(key) || !seen.Add(key))
                {
                    continue;
                }

                next.Add(current.TryGetValue(key, out var kept) ? kept : new Destination(url, url.Host.Trim('[', ']')));
            }

            if (next.Count == _registered.Length && next.Select((d, i) => ReferenceEquals(d, _registered[i])).All(same => same))
            {
                return false;
            }

            _registered = [.. next];
            Publish();
            return true;
        }
    }

    // With no registrations the configured array itself is published, so policies keep their schedules.
    /// <summary>
    /// Takes over the health <paramref name="previous"/> (this service's upstream before a reload that changed it, or
    /// renewed its TLS files) learned about the targets both have: a target the probes or its failures put out stays
    /// out, rather than getting traffic again until they say so a second time. Call before <see cref="Start"/>. Targets
    /// found by DNS take it when their first addresses arrive.
    /// </summary>
    internal void InheritHealth(Upstream previous)
    {
        lock (_setLock)
        {
            var old = previous.Destinations;
            Inherit(_configured, old);
            Inherit(_registered, old);
            if (_resolver is not null)
            {
                _inherited = old;
            }
        }
    }

    private void Inherit(Destination[] destinations, Destination[] previous)
    {
        if (destinations.Length == 0 || previous.Length == 0)
        {
            return;
        }

        // The same target at the same address, found by key: with thousands of registered targets, a scan of the previous
        // destinations for each made a reload take seconds. The first of repeats answers, as the scan's did.
        var before = new Dictionary<(Uri Target, string Address), Destination>(previous.Length, SameDestination.Instance);
        foreach (var d in previous)
        {
            before.TryAdd((d.Target, d.Address), d);
        }

        foreach (var destination in destinations)
        {
            if (before.TryGetValue((destination.Target, destination.Address), out var from))
            {
                destination.InheritHealth(from, active: _healthChecker is not null, passive: _outliers is not null);
            }
        }
    }

    private void Publish() => _destinations = _registered.Length == 0 ? _configured : [.. _configured, .. _registered];

    private static string Key(Uri url) => url.GetLeftPart(UriPartial.Path).TrimEnd('/');

    /// <summary>
    /// An available destination chosen by the service's policy, or null when none is available. A half-open
    /// destination (its ejection over) is given to one request at a time. In panic mode (outlier detection, with fewer
    /// than its threshold available) any destination may be given, ejected or not.
    /// </summary>
    public Destination? Pick() => Pick(key: null);

    /// <summary>
    /// As <see cref="Pick()"/>, and with <paramref name="key"/> (<c>loadBalancing: hash</c>: the hash of the request's
    /// value) the available destination that the key scores highest on. Panic mode picks as it does without a key.
    /// </summary>
    public Destination? Pick(ulong? key)
    {
        var now = _time.GetTimestamp();
        var destinations = _destinations;
        if (_outliers is { PanicThresholdPercent: > 0 } && InPanic(destinations, now))
        {
            return PanicPick(destinations);
        }

        // A destination lost to another request's probe is passed over (no longer available); the policy's next pick is
        // another one.
        for (var i = 0; i <= destinations.Length; i++)
        {
            var d = key is { } hash ? HashPolicy.Pick(destinations, now, hash) : _policy.Pick(destinations, now);
            if (d is null || d.TryClaim(now))
            {
                return d;
            }
        }

        return null;
    }

    /// <summary>What <c>loadBalancing: hash</c> hashes (the client's address unless <c>hash</c> says); null for the other policies.</summary>
    public HashConfig? Hashing { get; }

    /// <summary>
    /// Counts a request as in flight on <paramref name="destination"/>, unless this upstream is being retired.
    /// A request can read a snapshot just before a reload replaces it, and reach this point after the reload
    /// found no request in flight and closed the connections. Then this returns false and the caller must
    /// route again on the live snapshot, which a reload publishes before it retires anything.
    /// </summary>
    public bool TryBeginRequest(Destination destination)
    {
        // Increment, then look at the flag; RetireAsync sets the flag, then looks at the count. Both sides use
        // full fences, so at least one of them sees the other: the request backs off, or retirement waits for it.
        Interlocked.Increment(ref _inFlight);
        if (Volatile.Read(ref _retired) != 0)
        {
            LeaveInFlight();
            return false;
        }

        destination.BeginRequest();
        return true;
    }

    /// <summary>Ends a request; <paramref name="failed"/> feeds passive health checks.</summary>
    public void EndRequest(Destination destination, bool failed) =>
        EndRequest(destination, failed ? UpstreamOutcome.Failed : UpstreamOutcome.Succeeded);

    /// <summary>Ends a request; <paramref name="outcome"/> feeds passive health checks unless it is <see cref="UpstreamOutcome.NotJudged"/>.</summary>
    public void EndRequest(Destination destination, UpstreamOutcome outcome)
    {
        destination.EndRequest();
        LeaveInFlight();

        if (_outliers is { } outliers)
        {
            Judge(outliers, destination, outcome);
        }
    }

    private void LeaveInFlight()
    {
        if (Interlocked.Decrement(ref _inFlight) == 0 && Volatile.Read(ref _drained) is { } drained)
        {
            drained.TrySetResult();
        }
    }

    /// <summary>Starts background work (DNS refresh, active health checks). Idempotent.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0 || Volatile.Read(ref _disposed) != 0)
        {
            return;
        }

        _resolver?.Start();
        _healthChecker?.Start(after: _resolver?.FirstRefresh);
    }

    /// <summary>Stops background work, waits for in-flight requests (up to <paramref name="drainTimeout"/>), then closes connections.</summary>
    public async Task RetireAsync(TimeSpan drainTimeout)
    {
        // New requests back off from here on (TryBeginRequest); the ones already in are waited for.
        Interlocked.Exchange(ref _retired, 1);
        await StopBackgroundAsync().ConfigureAwait(false);

        // Exchange is a full fence: either a request leaving sees the signal, or we see its decrement below.
        var drained = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Interlocked.Exchange(ref _drained, drained);
        if (InFlight > 0)
        {
            try
            {
                await drained.Task.WaitAsync(drainTimeout, _time).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                LogDrainTimedOut(_logger, Name, InFlight, drainTimeout);
            }
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops background work and closes connections now. Idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await StopBackgroundAsync().ConfigureAwait(false);
        if (_resolver is not null)
        {
            await _resolver.DisposeAsync().ConfigureAwait(false);
        }

        if (_healthChecker is not null)
        {
            await _healthChecker.DisposeAsync().ConfigureAwait(false);
        }

        Invoker.Dispose();
    }

    private async Task StopBackgroundAsync()
    {
        // Health probes use the invoker, so they must stop before it is disposed.
        if (_healthChecker is not null)
        {
            await _healthChecker.StopAsync().ConfigureAwait(false);
        }

        if (_resolver is not null)
        {
            await _resolver.StopAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// What decides whether a reload can keep this upstream (its connections and health state): every setting
    /// of the service except its operations, which routes use but the connections do not, and its registration
    /// settings and its credential, which the runtime updates on the kept upstream (so rotating a registration token or
    /// the service's credential keeps connections, and the secret is never part of the fingerprint).
    /// </summary>
    internal static string FingerprintOf(ServiceConfig config) =>
        JsonSerializer.Serialize(config with { Openapi = null, Operations = new Dictionary<string, OperationConfig>(), Publish = null, Registration = null, Credential = null }, FingerprintOptions)
        + TlsFileStamps(config.Tls);

    /// <summary>True for a service whose TLS reads files (<c>tls.caFile</c>, <c>tls.clientCertificate</c>), which are read again when they change.</summary>
    internal static bool HasTlsFiles(ServiceConfig config) => config.Tls is { CaFile: not null } or { ClientCertificate: not null };

    // The TLS files' stamps are part of the fingerprint: renewed files make a new upstream (GatewayRuntime.RenewIfTlsFilesChanged).
    private static string TlsFileStamps(UpstreamTlsConfig? tls) => tls is null
        ? ""
        : string.Concat(new[] { tls.CaFile, tls.ClientCertificate?.CertFile, tls.ClientCertificate?.KeyFile }.OfType<string>().Select(f => "|" + Runtime.FileStamp.Describe(f)));

    private static readonly JsonSerializerOptions FingerprintOptions = new() { WriteIndented = false };


    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: {InFlight} requests still in flight after {DrainTimeout}; closing its connections anyway")]
    private static partial void LogDrainTimedOut(ILogger logger, string service, int inFlight, TimeSpan drainTimeout);
}

/// <summary>Targets equal as <see cref="Uri"/>s are (<c>==</c>), addresses equal ignoring case.</summary>
internal sealed class SameDestination : IEqualityComparer<(Uri Target, string Address)>
{
    public static readonly SameDestination Instance = new();

    public bool Equals((Uri Target, string Address) x, (Uri Target, string Address) y) =>
        x.Target == y.Target && string.Equals(x.Address, y.Address, StringComparison.OrdinalIgnoreCase);

    public int GetHashCode((Uri Target, string Address) obj) =>
        HashCode.Combine(obj.Target, StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Address));
}
