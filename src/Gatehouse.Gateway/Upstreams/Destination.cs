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
    private int _probing;
    private int _ejections;
    private long _returnedAt;
    private long _windowStart;
    private int _windowRequests;
    private int _windowFailures;
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
        HashSeed = System.IO.Hashing.XxHash3.HashToUInt64(System.Text.Encoding.UTF8.GetBytes(BaseAddress));
    }

    /// <summary>
    /// What <c>loadBalancing: hash</c> mixes with a request's key for this destination: a hash of
    /// <see cref="BaseAddress"/>, so that every node (and every reload) scores a key the same on the same destination.
    /// </summary>
    public ulong HashSeed { get; }

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

        // After an ejection it is half-open: available to one request at a time (the probe) until one succeeds.
        var until = Volatile.Read(ref _ejectedUntil);
        return until == 0 || (now >= until && Volatile.Read(ref _probing) == 0);
    }

    /// <summary>
    /// Claims the destination for one request at <paramref name="now"/>: always granted while it is in; after an
    /// ejection only to the one request that wins the probe, so a recovering destination is not stampeded.
    /// </summary>
    public bool TryClaim(long now)
    {
        var until = Volatile.Read(ref _ejectedUntil);
        if (until == 0)
        {
            return true;
        }

        return now >= until && Interlocked.CompareExchange(ref _probing, 1, 0) == 0;
    }

    /// <summary>True while ejected (its ejection time not over).</summary>
    public bool IsEjected(long now)
    {
        var until = Volatile.Read(ref _ejectedUntil);
        return until != 0 && now < until;
    }

    /// <summary>True when its ejection time is over but no request has succeeded on it since: its requests are probes.</summary>
    public bool IsHalfOpen(long now)
    {
        var until = Volatile.Read(ref _ejectedUntil);
        return until != 0 && now >= until;
    }

    /// <summary>Ejections in a row, the current one included.</summary>
    public int Ejections => Volatile.Read(ref _ejections);

    /// <summary>Lets the next request probe a half-open destination (the last one learned nothing).</summary>
    public void ReleaseProbe()
    {
        if (Volatile.Read(ref _probing) != 0)
        {
            Volatile.Write(ref _probing, 0);
        }
    }

    /// <summary>
    /// Counts the next ejection: its number in a row, which sets its length. A destination that stayed in for
    /// <paramref name="forgetAfterTicks"/> since it last returned starts again at 1.
    /// </summary>
    public int NextEjection(long now, long forgetAfterTicks)
    {
        var returned = Volatile.Read(ref _returnedAt);
        if (returned != 0 && now - returned >= forgetAfterTicks)
        {
            Volatile.Write(ref _ejections, 0);
        }

        return Interlocked.Increment(ref _ejections);
    }

    /// <summary>
    /// Counts a request into the failure-rate window; returns the window's (requests, failures) after it. A window
    /// older than <paramref name="windowTicks"/> starts over (racing threads may lose a count there, never more).
    /// </summary>
    public (int Requests, int Failures) CountWindow(long now, long windowTicks, bool failed)
    {
        var start = Volatile.Read(ref _windowStart);
        if (now - start >= windowTicks && Interlocked.CompareExchange(ref _windowStart, now, start) == start)
        {
            Volatile.Write(ref _windowRequests, 0);
            Volatile.Write(ref _windowFailures, 0);
        }

        var requests = Interlocked.Increment(ref _windowRequests);
        var failures = failed ? Interlocked.Increment(ref _windowFailures) : Volatile.Read(ref _windowFailures);
        return (requests, failures);
    }

    /// <summary>
    /// Takes over what <paramref name="from"/> (the same target and address in the upstream a reload replaced) learned
    /// about its health: whether the probes have it out (<paramref name="active"/>: the new upstream probes too), and its
    /// ejection, failure streak and window (<paramref name="passive"/>: the new upstream watches failures too). Called
    /// before this destination is published, so nothing else touches it yet.
    /// </summary>
    public void InheritHealth(Destination from, bool active, bool passive)
    {
        if (active)
        {
            _activeHealthy = from._activeHealthy;
        }

        if (passive)
        {
            _ejectedUntil = Volatile.Read(ref from._ejectedUntil);
            _ejections = Volatile.Read(ref from._ejections);
            _returnedAt = Volatile.Read(ref from._returnedAt);
            _consecutiveFailures = Volatile.Read(ref from._consecutiveFailures);
            _windowStart = Volatile.Read(ref from._windowStart);
            _windowRequests = Volatile.Read(ref from._windowRequests);
            _windowFailures = Volatile.Read(ref from._windowFailures);
        }
    }

    public void BeginRequest() => Interlocked.Increment(ref _outstanding);

    public void EndRequest() => Interlocked.Decrement(ref _outstanding);

    /// <summary>Records a success; clears passive ejection. Returns true when that brought the destination back.</summary>
    public bool RecordSuccess(long now = 0)
    {
        if (Volatile.Read(ref _consecutiveFailures) != 0)
        {
            Volatile.Write(ref _consecutiveFailures, 0);
        }

        if (Volatile.Read(ref _ejectedUntil) != 0 && Interlocked.Exchange(ref _ejectedUntil, 0) != 0)
        {
            Volatile.Write(ref _returnedAt, now);
            Volatile.Write(ref _probing, 0);
            return true;
        }

        return false;
    }

    /// <summary>Records a failure; returns the new count of consecutive failures.</summary>
    public int RecordFailure() => Interlocked.Increment(ref _consecutiveFailures);

    /// <summary>Takes the destination out until <paramref name="until"/>.</summary>
    public void Eject(long until)
    {
        Volatile.Write(ref _ejectedUntil, until);
        Volatile.Write(ref _consecutiveFailures, 0);
        Volatile.Write(ref _probing, 0);
    }

    public override string ToString() => HostHeader is null ? BaseAddress : $"{BaseAddress} (host {HostHeader})";
}
