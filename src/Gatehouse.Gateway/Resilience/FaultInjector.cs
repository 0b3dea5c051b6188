using System.Net;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Simmy;
using Polly.Simmy.Latency;
using Polly.Simmy.Outcomes;

namespace Gatehouse.Gateway.Resilience;

/// <summary>
/// A route's fault injection (<see cref="FaultsConfig"/>), built on Polly's chaos strategies (latency and outcome),
/// which do exactly this: inject at a rate, on the injected <see cref="TimeProvider"/>. Only routes that configure
/// faults have one, so the others pay nothing.
/// </summary>
internal sealed partial class FaultInjector
{
    private readonly string _route;
    private readonly string? _header;
    private readonly IPNetwork[] _from;
    private readonly ResiliencePipeline<int> _pipeline;

    /// <param name="randomizer">Draws in [0, 1) deciding each injection; Polly's own when null. A test seam.</param>
    public FaultInjector(string route, FaultsConfig config, TimeProvider time, ILogger logger, Func<double>? randomizer = null)
    {
        _route = route;
        _header = config.Header;
        _from = [.. config.From.Select(p => IPNetwork.TryParse(p, out var n) ? n : new IPNetwork(IPAddress.Parse(p), IPAddress.Parse(p).GetAddressBytes().Length * 8))];
        var builder = new ResiliencePipelineBuilder<int> { TimeProvider = time };
        if (config.Delay is { } delay)
        {
            var options = new ChaosLatencyStrategyOptions
            {
                InjectionRate = delay.Percent / 100.0,
                Latency = delay.Duration,
                OnLatencyInjected = _ =>
                {
                    ResilienceMetrics.Fault(route, "delay");
                    LogDelayed(logger, route, delay.Duration);
                    return default;
                },
            };
            if (randomizer is not null)
            {
                options.Randomizer = randomizer;
            }

            builder.AddChaosLatency(options);
        }

        if (config.Abort is { } abort)
        {
            var outcome = Outcome.FromResult(abort.Status);
            var options = new ChaosOutcomeStrategyOptions<int>
            {
                InjectionRate = abort.Percent / 100.0,
                OutcomeGenerator = _ => ValueTask.FromResult<Outcome<int>?>(outcome),
                OnOutcomeInjected = _ =>
                {
                    ResilienceMetrics.Fault(route, "abort");
                    LogAborted(logger, route, abort.Status);
                    return default;
                },
            };
            if (randomizer is not null)
            {
                options.Randomizer = randomizer;
            }

            builder.AddChaosOutcome(options);
        }

        _pipeline = builder.Build();
    }

    /// <summary>Whether <paramref name="context"/> is subject to faults: it has the header (when one is set) and comes from an allowed address.</summary>
    public bool Applies(HttpContext context)
    {
        if (_header is not null && !context.Request.Headers.ContainsKey(_header))
        {
            return false;
        }

        if (_from.Length == 0)
        {
            return true;
        }

        var address = context.Connection.RemoteIpAddress;
        if (address is null)
        {
            return false;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            address = address.MapToIPv4();
        }

        foreach (var network in _from)
        {
            if (network.Contains(address))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Runs the faults: waits when a delay is injected; returns the status to abort with, or 0 to forward.</summary>
    public ValueTask<int> InjectAsync(CancellationToken cancellationToken) =>
        _pipeline.ExecuteAsync(static _ => ValueTask.FromResult(0), cancellationToken);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route {Route}: fault injected, delay {Delay}")]
    private static partial void LogDelayed(ILogger logger, string route, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route {Route}: fault injected, abort with {Status}")]
    private static partial void LogAborted(ILogger logger, string route, int status);
}
