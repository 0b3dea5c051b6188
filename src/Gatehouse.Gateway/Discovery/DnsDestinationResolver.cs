using System.Net;
using System.Net.Sockets;
using Gatehouse.Gateway.Upstreams;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Discovery;

/// <summary>
/// DNS discovery for one upstream: targets whose host is a DNS name are resolved at start and every
/// <c>dnsRefresh</c>, and each address becomes a <see cref="Destination"/> that connects to the IP and sends the
/// target's name as Host (and so as TLS SNI and certificate name).
/// </summary>
/// <remarks>
/// <para>Invariants:</para>
/// <list type="bullet">
/// <item>A destination whose IP is still in the answer is kept as the same object, so its in-flight count,
/// passive ejection and active health carry over a refresh.</item>
/// <item>A failed or empty lookup keeps the target's last good destinations and is logged once per outage.</item>
/// <item>Targets given as IP literals are never touched.</item>
/// <item>The upstream's array is replaced only when the set changed, so policies rebuild their state only then.</item>
/// </list>
/// <para>IPv4 answers are used when there are any, IPv6 otherwise (Envoy's <c>V4_PREFERRED</c>). Using both
/// would send a share of the traffic for <c>localhost</c> or a dual-stack name to <c>::1</c> or an AAAA record
/// that the service does not listen on; connecting by name never had that problem, because the socket tries
/// the addresses in turn.</para>
/// <para>Until the first lookup answers, a DNS target is one destination that connects by name (the
/// handler resolves it itself), so an upstream can serve from the moment it starts. An SRV target has no destination
/// until its first lookup answers: its name is not one to connect to.</para>
/// <para>An SRV target (<c>targets[].srv</c>) gives one destination per address of each record of its lowest priority,
/// at the record's host (sent as Host, SNI and certificate name) and port, weighted by the record's weight.</para>
/// </remarks>
internal sealed partial class DnsDestinationResolver : IAsyncDisposable
{
    /// <summary>The system resolver (getaddrinfo, so <c>/etc/hosts</c> applies).</summary>
    public static readonly Func<string, CancellationToken, Task<IPAddress[]>> SystemResolver = Dns.GetHostAddressesAsync;

    private readonly string _service;
    private readonly TargetState[] _targets;
    private readonly Func<string, CancellationToken, Task<IPAddress[]>> _resolve;
    private readonly Func<string, CancellationToken, Task<SrvTarget[]>>? _resolveSrv;
    private readonly ILogger _logger;
    private readonly Action<Destination[]> _apply;
    private readonly PeriodicLoop _loop;

    /// <param name="service">The service name, for logs.</param>
    /// <param name="initial">One destination per configured target, in config order.</param>
    /// <param name="refresh">Time between lookups.</param>
    /// <param name="resolve">The lookup; <see cref="SystemResolver"/> outside tests.</param>
    /// <param name="time">Drives the refresh timer.</param>
    /// <param name="logger">Receives lookup failures and address changes.</param>
    /// <param name="apply">Receives the new destination set when it changed.</param>
    public DnsDestinationResolver(
        string service,
        Destination[] initial,
        TimeSpan refresh,
        Func<string, CancellationToken, Task<IPAddress[]>> resolve,
        TimeProvider time,
        ILogger logger,
        Action<Destination[]> apply,
        bool[]? srv = null,
        Func<string, CancellationToken, Task<SrvTarget[]>>? resolveSrv = null)
    {
        _service = service;
        _targets = [.. initial.Select((d, i) => new TargetState(d, srv is not null && srv[i]))];
        _resolve = resolve;
        _resolveSrv = resolveSrv;
        _logger = logger;
        _apply = apply;
        _loop = new PeriodicLoop(refresh, time, RefreshAsync);
    }

    /// <summary>Completed refreshes; lets tests wait for one instead of sleeping.</summary>
    public long Refreshes => _loop.Rounds;

    /// <summary>Completes when the first lookup has finished, whatever its outcome, or when the resolver stops.</summary>
    public Task FirstRefresh => _loop.FirstRound;

    /// <summary>True when a target's host is a DNS name rather than an IP literal.</summary>
    public static bool IsDnsName(Uri target) => target.HostNameType == UriHostNameType.Dns;

    /// <summary>Resolves now, then every refresh interval, until stopped.</summary>
    public void Start() => _loop.Start();

    /// <summary>Stops the loop and waits for a lookup in progress to end. Idempotent.</summary>
    public Task StopAsync() => _loop.StopAsync();

    public ValueTask DisposeAsync() => _loop.DisposeAsync();

    /// <summary>Looks every DNS target up once and applies the new set if it changed.</summary>
    internal async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var lookups = new Task<bool>[_targets.Length];
        for (var i = 0; i < _targets.Length; i++)
        {
            lookups[i] = _targets[i].IsDns ? RefreshTargetAsync(_targets[i], cancellationToken) : Task.FromResult(false);
        }

        var changed = await Task.WhenAll(lookups).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        if (changed.Contains(true))
        {
            _apply([.. _targets.SelectMany(t => t.Current)]);
        }
    }

    /// <summary>Returns true when the target's destinations changed.</summary>
    private async Task<bool> RefreshTargetAsync(TargetState target, CancellationToken stop)
    {
        if (target.IsSrv)
        {
            return await RefreshSrvAsync(target, stop).ConfigureAwait(false);
        }

        var host = target.Uri.IdnHost;
        IPAddress[] answer;
        try
        {
            answer = Prefer(await _resolve(host, stop).ConfigureAwait(false));
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            Failed(target, host, e.Message);
            return false;
        }

        if (answer.Length == 0)
        {
            Failed(target, host, "no addresses");
            return false;
        }

        if (target.Failing)
        {
            target.Failing = false;
            LogLookupRecovered(_logger, _service, host);
        }

        // Sorted, so that DNS servers rotating their answers do not look like a change.
        var addresses = answer.Select(a => a.ToString()).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
        var current = target.Current;
        var next = new Destination[addresses.Length];
        var changed = next.Length != current.Length;
        for (var i = 0; i < addresses.Length; i++)
        {
            next[i] = Array.Find(current, d => d.Address == addresses[i]) ?? new Destination(target.Uri, addresses[i], target.Weight);
            if (!changed && !ReferenceEquals(next[i], current[i]))
            {
                changed = true;
            }
        }

        if (!changed)
        {
            return false;
        }

        target.Current = next;
        LogAddressesChanged(_logger, _service, host, string.Join(", ", addresses));
        return true;
    }

    private async Task<bool> RefreshSrvAsync(TargetState target, CancellationToken stop)
    {
        var name = target.Uri.IdnHost;
        SrvTarget[] records;
        try
        {
            records = await _resolveSrv!(name, stop).ConfigureAwait(false);
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            Failed(target, name, e.Message);
            return false;
        }

        // The lowest priority that has an address; the others are for when it has none (RFC 2782).
        var usable = records.Select(r => r with { Addresses = Prefer(r.Addresses) }).Where(r => r.Addresses.Length > 0).ToArray();
        if (usable.Length == 0)
        {
            Failed(target, name, records.Length == 0 ? "no SRV records" : "no addresses for its SRV records");
            return false;
        }

        if (target.Failing)
        {
            target.Failing = false;
            LogLookupRecovered(_logger, _service, name);
        }

        var priority = usable.Min(r => r.Priority);
        var wanted = usable.Where(r => r.Priority == priority)
            .SelectMany(r => r.Addresses.Select(a => (Uri: new UriBuilder(target.Uri) { Host = r.Host, Port = r.Port }.Uri, Address: a.ToString(), Weight: Math.Max(1, r.Weight))))
            .DistinctBy(w => (w.Uri.Authority, w.Address))
            .OrderBy(w => w.Uri.Authority, StringComparer.Ordinal).ThenBy(w => w.Address, StringComparer.Ordinal).ToArray();
        var current = target.Current;
        var next = new Destination[wanted.Length];
        var changed = next.Length != current.Length;
        for (var i = 0; i < wanted.Length; i++)
        {
            var (uri, address, weight) = wanted[i];
            next[i] = Array.Find(current, d => d.Target == uri && d.Address == address && d.Weight == weight) ?? new Destination(uri, address, weight);
            changed |= !ReferenceEquals(next[i], i < current.Length ? current[i] : null);
        }

        if (!changed)
        {
            return false;
        }

        target.Current = next;
        LogAddressesChanged(_logger, _service, name, string.Join(", ", wanted.Select(w => $"{w.Uri.Authority} ({w.Address}, weight {w.Weight})")));
        return true;
    }

    private void Failed(TargetState target, string host, string error)
    {
        if (target.Failing)
        {
            return;
        }

        target.Failing = true;
        LogLookupFailed(_logger, _service, host, error, string.Join(", ", target.Current.Select(d => d.Address)));
    }

    private static IPAddress[] Prefer(IPAddress[] answer)
    {
        var v4 = answer.Where(a => a.AddressFamily == AddressFamily.InterNetwork).ToArray();
        if (v4.Length > 0)
        {
            return v4;
        }

        // IPv4-mapped or scoped link-local IPv6 addresses are not something a target should resolve to.
        return [.. answer.Where(a => a.AddressFamily == AddressFamily.InterNetworkV6 && a.ScopeId == 0 && !a.IsIPv4MappedToIPv6)];
    }

    /// <summary>Per-target state; only the loop touches it, one refresh at a time.</summary>
    private sealed class TargetState(Destination initial, bool srv)
    {
        public Uri Uri { get; } = initial.Target;

        public int Weight { get; } = initial.Weight;

        // An SRV name has underscores, which System.Uri does not count as a DNS name.
        public bool IsDns { get; } = srv || IsDnsName(initial.Target);

        public bool IsSrv { get; } = srv;

        public Destination[] Current { get; set; } = srv ? [] : [initial];

        public bool Failing { get; set; }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: DNS lookup of {Host} failed ({Error}); keeping its last known destinations: {Addresses}")]
    private static partial void LogLookupFailed(ILogger logger, string service, string host, string error, string addresses);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: DNS lookup of {Host} succeeds again")]
    private static partial void LogLookupRecovered(ILogger logger, string service, string host);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: {Host} now resolves to {Addresses}")]
    private static partial void LogAddressesChanged(ILogger logger, string service, string host, string addresses);
}
