using System.Runtime.InteropServices;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Health;

/// <summary>
/// Active health checks of one upstream: every <see cref="ActiveHealthCheckConfig.Interval"/>, a GET of
/// <see cref="ActiveHealthCheckConfig.Path"/> on each current destination, in parallel. A destination is taken
/// out (<see cref="Destination.ActiveHealthy"/> = false) after <see cref="ActiveHealthCheckConfig.UnhealthyThreshold"/>
/// consecutive failed probes and brought back after <see cref="ActiveHealthCheckConfig.HealthyThreshold"/>
/// consecutive successful ones.
/// </summary>
/// <remarks>
/// Probes go through the upstream's own <see cref="Upstream.Invoker"/>, so they use the same TLS trust, client
/// certificate, HTTP version and connection pool as real traffic: a probe succeeds exactly when a request could.
/// The path is appended to the destination's base address (its base path included), as YARP does.
/// All timing (the interval and the probe timeout) comes from the injected <see cref="TimeProvider"/>.
/// </remarks>
internal sealed partial class ActiveHealthChecker : IAsyncDisposable
{
    private readonly Upstream _upstream;
    private readonly ActiveHealthCheckConfig _config;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly int _healthyThreshold;
    private readonly bool[] _healthy;
    private readonly int _unhealthyThreshold;

    // Probe streaks per destination. Only the loop touches it (one round at a time), so it needs no lock.
    // Destinations that DNS discovery keeps are the same objects, so their streaks carry over a refresh.
    private readonly Dictionary<Destination, Streak> _streaks = new(ReferenceEqualityComparer.Instance);
    private readonly PeriodicLoop _loop;

    public ActiveHealthChecker(Upstream upstream, ActiveHealthCheckConfig config, TimeProvider time, ILogger logger)
    {
        _upstream = upstream;
        _config = config;
        _time = time;
        _logger = logger;
        // The config reader rejects thresholds below 1; clamp for configs built in code.
        _healthyThreshold = Math.Max(1, config.HealthyThreshold);
        _healthy = StatusSet.Compile(config.Statuses);
        _unhealthyThreshold = Math.Max(1, config.UnhealthyThreshold);
        _loop = new PeriodicLoop(config.Interval, time, ProbeAllAsync);
    }

    /// <summary>Completed probe rounds; lets tests wait for a round instead of sleeping.</summary>
    public long Rounds => _loop.Rounds;

    /// <summary>Probes once now (or once <paramref name="after"/> completes), then every interval, until stopped.</summary>
    /// <param name="after">
    /// The first DNS lookup, when targets are given by name: probing the provisional by-name destinations that
    /// discovery is about to replace would only cost a lookup and a connection.
    /// </param>
    public void Start(Task? after = null) => _loop.Start(after);

    /// <summary>Stops the loop and waits for the current round to end. Idempotent.</summary>
    public Task StopAsync() => _loop.StopAsync();

    public ValueTask DisposeAsync() => _loop.DisposeAsync();

    /// <summary>Probes every current destination once and applies the results.</summary>
    internal async Task ProbeAllAsync(CancellationToken cancellationToken)
    {
        var destinations = _upstream.Destinations;
        var probes = new Task<string?>[destinations.Length];
        for (var i = 0; i < destinations.Length; i++)
        {
            probes[i] = ProbeAsync(destinations[i], cancellationToken);
        }

        await Task.WhenAll(probes).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        for (var i = 0; i < destinations.Length; i++)
        {
            Apply(destinations[i], failure: probes[i].Result);
        }

        if (_streaks.Count > destinations.Length)
        {
            // Forget destinations that discovery removed.
            var current = new HashSet<Destination>(destinations, ReferenceEqualityComparer.Instance);
            foreach (var gone in _streaks.Keys.Where(d => !current.Contains(d)).ToList())
            {
                _streaks.Remove(gone);
            }
        }
    }

    /// <summary>Null when the destination answered 2xx in time, else why not.</summary>
    private async Task<string?> ProbeAsync(Destination destination, CancellationToken stop)
    {
        using var timeout = new CancellationTokenSource(_config.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, timeout.Token);
        try
        {
            using var request = _config.Grpc is { } grpc
                ? GrpcHealthProbe.Request(destination.BaseAddress, grpc.Service)
                : new HttpRequestMessage(HttpMethod.Get, destination.BaseAddress + _config.Path);
            request.Version = _upstream.RequestVersion;
            request.VersionPolicy = _upstream.VersionPolicy;
            if (destination.HostHeader is { } host)
            {
                request.Headers.Host = host;
            }

            // A service that wants the gateway's credential on every call may want it on its health endpoint too.
            if (_upstream.Credential is { } credential)
            {
                request.Headers.TryAddWithoutValidation(credential.Header, credential.Value);
            }

            using var response = await _upstream.Invoker.SendAsync(request, linked.Token).ConfigureAwait(false);
            if (_config.Grpc is not null)
            {
                return await GrpcHealthProbe.JudgeAsync(response, linked.Token).ConfigureAwait(false);
            }

            var status = (int)response.StatusCode;
            return status < _healthy.Length && _healthy[status] ? null : $"HTTP {status}";
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !stop.IsCancellationRequested)
        {
            return $"no response within {_config.Timeout}";
        }
        catch (Exception e) when (!stop.IsCancellationRequested)
        {
            // Connection refused, TLS failure, reset...: all mean "cannot serve requests now".
            return e.InnerException?.Message ?? e.Message;
        }
    }

    private void Apply(Destination destination, string? failure)
    {
        ref var streak = ref CollectionsMarshal.GetValueRefOrAddDefault(_streaks, destination, out _);
        if (failure is null)
        {
            streak.Failures = 0;
            streak.Successes++;
            if (!destination.ActiveHealthy && streak.Successes >= _healthyThreshold)
            {
                destination.ActiveHealthy = true;
                _upstream.HealthChanged();
                LogHealthy(_logger, _upstream.Name, destination.ToString(), streak.Successes);
            }
        }
        else
        {
            streak.Successes = 0;
            streak.Failures++;
            if (destination.ActiveHealthy && streak.Failures >= _unhealthyThreshold)
            {
                destination.ActiveHealthy = false;
                _upstream.HealthChanged();
                LogUnhealthy(_logger, _upstream.Name, destination.ToString(), streak.Failures, _config.Path, failure);
            }
        }
    }

    private struct Streak
    {
        public int Successes;
        public int Failures;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service {Service}: destination {Destination} is unhealthy after {Failures} failed probes of {Path}; last: {Reason}")]
    private static partial void LogUnhealthy(ILogger logger, string service, string destination, int failures, string path, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Service {Service}: destination {Destination} is healthy again after {Successes} successful probes")]
    private static partial void LogHealthy(ILogger logger, string service, string destination, int successes);
}
