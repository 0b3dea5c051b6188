namespace Gatehouse.Gateway.Upstreams;

/// <summary>
/// One address requests can be sent to: a configured target, or one resolved IP of a target given by DNS
/// name. Mutable only through its counters and health flags, which are updated lock-free.
/// </summary>
internal sealed class Destination
{
    private int _outstanding;
    private int _consecutiveFailures;
    private long _ejectedUntil;
    private volatile bool _activeHealthy = true;

    /// <param name="target">The configured target URL, e.g. <c>https://users.internal:8443/api</c>.</param>
    /// <param name="address">The address connected to: the target's host, or one IP it resolved to.</param>
    /// <param name="weight">Relative share for weighted round robin.</param>
    public Destination(Uri target, string address, int weight = 1)
    {
        Target = target;
        Address = address;
        // The config reader rejects weights below 1; clamp for configs built in code so a schedule never divides by 0.
        Weight = Math.Max(1, weight);
        var host = address.Contains(':') && !address.StartsWith('[') ? $"[{address}]" : address;
        BaseAddress = $"{target.Scheme}://{host}:{target.Port}{target.AbsolutePath.TrimEnd('/')}";
        // When we connect to an IP that a DNS name resolved to, the upstream still sees its own name:
        // SocketsHttpHandler takes the TLS SNI and the name the server certificate must match from the
        // Host header when one is set (HttpConnectionPoolManager.GetConnectionKey, sslHostName), not from
        // the request URI. Tests/Upstreams/UpstreamTlsTests prove it against a real TLS backend.
        // Uri.Host keeps IPv6 brackets; the address does not.
        HostHeader = string.Equals(address, target.Host.Trim('[', ']'), StringComparison.OrdinalIgnoreCase) ? null : target.Authority;
    }

    /// <summary>The configured target this destination came from.</summary>
    public Uri Target { get; }

    /// <summary>The host or IP connected to, without brackets; an IP for destinations found by DNS discovery.</summary>
    public string Address { get; }

    /// <summary><c>scheme://address:port[/basepath]</c> with no trailing slash; the upstream path is appended to it.</summary>
    public string BaseAddress { get; }

    /// <summary>The Host header to send when it differs from <see cref="BaseAddress"/>'s host, else null.</summary>
    public string? HostHeader { get; }

    /// <summary>Relative share of traffic for round robin.</summary>
    public int Weight { get; }

    /// <summary>Requests sent to this destination that have not finished.</summary>
    public int Outstanding => Volatile.Read(ref _outstanding);

    /// <summary>False while active health checks consider the destination down.</summary>
    public bool ActiveHealthy
    {
        get => _activeHealthy;
        set => _activeHealthy = value;
    }

    /// <summary>Consecutive failed proxied requests (reset by a success).</summary>
    public int ConsecutiveFailures => Volatile.Read(ref _consecutiveFailures);

    /// <summary>True when the destination may receive traffic at <paramref name="now"/> (a <see cref="TimeProvider.GetTimestamp"/> value).</summary>
    public bool IsAvailable(long now)
    {
        if (!_activeHealthy)
        {
            return false;
        }

        var until = Volatile.Read(ref _ejectedUntil);
        return until == 0 || now >= until;
    }

    public void BeginRequest() => Interlocked.Increment(ref _outstanding);

    public void EndRequest() => Interlocked.Decrement(ref _outstanding);

    /// <summary>Records a success; clears passive ejection.</summary>
    public void RecordSuccess()
    {
        if (Volatile.Read(ref _consecutiveFailures) != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }

        if (Volatile.Read(ref _ejectedUntil) != 0)
        {
            Volatile.Write(ref _ejectedUntil, 0);
        }
    }

    /// <summary>Records a failure; returns the new count of consecutive failures.</summary>
    public int RecordFailure() => Interlocked.Increment(ref _consecutiveFailures);

    /// <summary>Takes the destination out until <paramref name="until"/>.</summary>
    public void Eject(long until)
    {
        Volatile.Write(ref _ejectedUntil, until);
        Volatile.Write(ref _consecutiveFailures, 0);
    }

    public override string ToString() => HostHeader is null ? BaseAddress : $"{BaseAddress} (host {HostHeader})";
}
