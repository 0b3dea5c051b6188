using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Which provider models are cooling on this node (<c>ai.cooldown</c>): passed over after failing, so that a provider
/// that is down or out of quota does not cost every call its timeout first. A cooling provider model is tried last,
/// not never: an alias whose every entry is cooling still calls them all, in order. Kept by service, provider and model
/// name, so a config change that keeps them keeps what is known about them.
/// </summary>
internal sealed partial class AiCooldowns : IDisposable
{
    private readonly ConcurrentDictionary<(string Service, string Provider, string Model), State> _states = new();
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public AiCooldowns(TimeProvider time, ILoggerFactory loggers)
    {
        _time = time;
        _logger = loggers.CreateLogger("Gatehouse.Ai");
        Live[this] = 0;
    }

    // The gauge reads every gateway of the process (tests run several); one is removed when its host stops.
    private static readonly ConcurrentDictionary<AiCooldowns, byte> Live = new();

    static AiCooldowns() => AiMetrics.Meter.CreateObservableGauge("gatehouse.ai.cooling", Cooling, "{model}",
        "1 while a provider model is passed over after failing, 0 once it is tried first again; by service, provider and model");

    private static IEnumerable<Measurement<int>> Cooling()
    {
        foreach (var cooldowns in Live.Keys)
        {
            var now = cooldowns._time.GetTimestamp();
            foreach (var (key, state) in cooldowns._states)
            {
                yield return new Measurement<int>(Volatile.Read(ref state.Until) > now ? 1 : 0,
                    new KeyValuePair<string, object?>("service", key.Service), new KeyValuePair<string, object?>("provider", key.Provider), new KeyValuePair<string, object?>("model", key.Model));
            }
        }
    }

    /// <summary>Leaves the gauge (the host is stopping).</summary>
    public void Dispose() => Live.TryRemove(this, out _);

    /// <summary>
    /// One call's order of trial with the cooling provider models moved to the end (in their order); the same array
    /// when none is cooling, and nothing looked up while no provider model of any service has failed.
    /// </summary>
    public AiModelTarget[] Order(string service, AiModelTarget[] order)
    {
        if (_states.IsEmpty)
        {
            return order;
        }

        var now = _time.GetTimestamp();
        var cooling = 0;
        foreach (var target in order)
        {
            cooling += IsCooling(service, target, now) ? 1 : 0;
        }

        if (cooling == 0 || cooling == order.Length)
        {
            return order;
        }

        var reordered = new AiModelTarget[order.Length];
        int warm = 0, cold = order.Length - cooling;
        foreach (var target in order)
        {
            reordered[IsCooling(service, target, now) ? cold++ : warm++] = target;
        }

        return reordered;
    }

    /// <summary>Whether <paramref name="target"/> of <paramref name="service"/> is being passed over now.</summary>
    public bool IsCooling(string service, AiModelTarget target) => IsCooling(service, target, _time.GetTimestamp());

    private bool IsCooling(string service, AiModelTarget target, long now) =>
        _states.TryGetValue((service, target.Provider.Name, target.Model), out var state) && Volatile.Read(ref state.Until) > now;

    /// <summary>The provider model answered (a 4xx included: the call was refused, the provider is up).</summary>
    public void Succeeded(string service, AiModelTarget target)
    {
        if (!_states.IsEmpty && _states.TryGetValue((service, target.Provider.Name, target.Model), out var state))
        {
            lock (state)
            {
                state.Failures = 0;
                state.Until = 0;
            }
        }
    }

    /// <summary>
    /// The provider model failed before anything reached the client; <paramref name="retryAfter"/> is a 429's
    /// <c>Retry-After</c>, when it had one.
    /// </summary>
    public void Failed(string service, AiModelTarget target, AiCooldownConfig config, TimeSpan? retryAfter)
    {
        var fromRetryAfter = retryAfter is { } asked && config.MaxRetryAfter > TimeSpan.Zero && asked > TimeSpan.Zero;
        if (config.ConsecutiveFailures == 0 && !fromRetryAfter)
        {
            return;
        }

        var state = _states.GetOrAdd((service, target.Provider.Name, target.Model), static _ => new State());
        TimeSpan? cool = null;
        int failures;
        bool started;
        lock (state)
        {
            failures = ++state.Failures;
            if (fromRetryAfter)
            {
                cool = retryAfter!.Value < config.MaxRetryAfter ? retryAfter.Value : config.MaxRetryAfter;
            }

            if (config.ConsecutiveFailures > 0 && failures >= config.ConsecutiveFailures && (cool is null || cool < config.Time))
            {
                cool = config.Time;
            }

            if (cool is not { } length)
            {
                return;
            }

            var now = _time.GetTimestamp();
            started = state.Until <= now;
            Volatile.Write(ref state.Until, now + (long)(length.TotalSeconds * _time.TimestampFrequency));
        }

        if (started)
        {
            AiMetrics.Cooldowns.Add(1, new TagList { { "service", service }, { "provider", target.Provider.Name }, { "model", target.Model } });
            LogCooling(_logger, service, target.Provider.Name, target.Model, (int)Math.Ceiling(cool.Value.TotalSeconds), failures);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "AI service {Service}: provider {Provider} ({Model}) is passed over for {Seconds} s after {Failures} failed call(s) in a row; calls go to the alias's other provider models first")]
    private static partial void LogCooling(ILogger logger, string service, string provider, string model, int seconds, int failures);

    private sealed class State
    {
        public int Failures;

        /// <summary>The <see cref="TimeProvider.GetTimestamp"/> until which the provider model is passed over.</summary>
        public long Until;
    }
}
