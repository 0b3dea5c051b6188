using System.Text.Json;
using Gatehouse.Gateway.LoadBalancing;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Upstreams;

/// <summary>
/// The runtime form of a service: its connection pool (one <see cref="HttpMessageInvoker"/>), its current
/// destinations and the policy that picks among them. Survives config reloads that do not change the
/// service's definition, so connections and health state carry over.
/// </summary>
internal sealed partial class Upstream : IAsyncDisposable
{
    private readonly ILoadBalancingPolicy _policy;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly long _cooldownTicks;
    private readonly int _passiveThreshold;
    private volatile Destination[] _destinations;
    private int _inFlight;
    private int _retired;

    public Upstream(string name, ServiceConfig config, TimeProvider time, ILoggerFactory loggerFactory)
    {
        Name = name;
        Config = config;
        Fingerprint = FingerprintOf(config);
        _time = time;
        _logger = loggerFactory.CreateLogger("Gatehouse.Upstream");
        _policy = LoadBalancingPolicies.Create(config.LoadBalancing);
        Invoker = UpstreamHandlerFactory.Create(config);
        RequestVersion = config.Protocol == UpstreamProtocol.Http2 ? System.Net.HttpVersion.Version20 : System.Net.HttpVersion.Version11;
        VersionPolicy = config.Protocol == UpstreamProtocol.Http2 ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower;
        _destinations = [.. config.Targets.Select(t => { var u = new Uri(t.Url); return new Destination(u, u.Host.Trim('[', ']'), t.Weight); })];
        if (config.HealthCheck?.Passive is { } passive)
        {
            _passiveThreshold = passive.ConsecutiveFailures;
            _cooldownTicks = (long)(passive.Cooldown.TotalSeconds * time.TimestampFrequency);
        }
    }

    public string Name { get; }

    public ServiceConfig Config { get; }

    /// <summary>A stable digest of <see cref="Config"/>; equal digests mean the upstream can be reused across a reload.</summary>
    public string Fingerprint { get; }

    public HttpMessageInvoker Invoker { get; }

    public Version RequestVersion { get; }

    public HttpVersionPolicy VersionPolicy { get; }

    public TimeProvider Time => _time;

    /// <summary>The destinations currently known (healthy or not).</summary>
    public Destination[] Destinations => _destinations;

    /// <summary>Requests being forwarded through this upstream now.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Replaces the destination set (DNS discovery); destinations that stay keep their state.</summary>
    public void SetDestinations(Destination[] destinations) => _destinations = destinations;

    /// <summary>An available destination chosen by the service's policy, or null when none is available.</summary>
    public Destination? Pick() => _policy.Pick(_destinations, _time.GetTimestamp());

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
            Interlocked.Decrement(ref _inFlight);
            return false;
        }

        destination.BeginRequest();
        return true;
    }

    /// <summary>Ends a request; <paramref name="failed"/> feeds passive health checks.</summary>
    public void EndRequest(Destination destination, bool failed)
    {
        destination.EndRequest();
        Interlocked.Decrement(ref _inFlight);
        if (_passiveThreshold == 0)
        {
            return;
        }

        if (!failed)
        {
            destination.RecordSuccess();
        }
        else if (destination.RecordFailure() >= _passiveThreshold)
        {
            destination.Eject(_time.GetTimestamp() + _cooldownTicks);
            LogEjected(_logger, Name, destination.ToString(), _passiveThreshold);
        }
    }

    /// <summary>Starts background work (DNS refresh, active health checks).</summary>
    public void Start()
    {
    }

    /// <summary>Stops background work, waits for in-flight requests (up to <paramref name="drainTimeout"/>), then closes connections.</summary>
    public async Task RetireAsync(TimeSpan drainTimeout)
    {
        Interlocked.Exchange(ref _retired, 1);
        var deadline = _time.GetTimestamp() + (long)(drainTimeout.TotalSeconds * _time.TimestampFrequency);
        while (InFlight > 0 && _time.GetTimestamp() < deadline)
        {
            await Task.Delay(50).ConfigureAwait(false);
        }

        await DisposeAsync().ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        Invoker.Dispose();
        return ValueTask.CompletedTask;
    }

    internal static string FingerprintOf(ServiceConfig config) => JsonSerializer.Serialize(config, FingerprintOptions);

    private static readonly JsonSerializerOptions FingerprintOptions = new() { WriteIndented = false };

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: destination {Destination} ejected after {Failures} consecutive failures")]
    private static partial void LogEjected(ILogger logger, string service, string destination, int failures);
}
