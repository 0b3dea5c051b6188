using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Gatehouse.Gateway.Upstreams;
using Gatehouse.Model.Config;
using Gatehouse.Model.Limits;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Limiting.Cluster;

/// <summary>
/// This node's side of the limits with <c>scope: cluster</c> (docs/limits.md, "Limits across nodes"): what each such limit
/// may admit now (<see cref="Cap"/>), leases for strict limits, and a background loop every <c>syncInterval</c> that adds
/// local counts to the engine (fast limits; and, for either mode, what was admitted while the engine was down), learns the
/// others' counts back, reports this node (every second) and notices when the engine is back. The request path never calls
/// the engine except to fetch a lease when a strict limit's lease is used up: one call per lease, shared by every request
/// waiting for it, bounded by <c>gateway.limits.timeout</c>.
/// </summary>
internal sealed partial class ClusterLimiter : IAsyncDisposable
{
    private static readonly ConcurrentDictionary<ClusterLimiter, byte> Live = new();
    private static readonly Counter<long> FallbackDecisions = Observability.GatewayMetrics.Instance.CreateCounter<long>(
        "gatehouse.limits.fallback", "{request}", "Requests decided by a cluster limit's onEngineDown while the counter engine was unreachable, by action");
    private static readonly Counter<long> EngineFailures = Observability.GatewayMetrics.Instance.CreateCounter<long>(
        "gatehouse.limits.engine.failures", "{call}", "Calls to the counter engine of cluster limits that failed or timed out");
    private static readonly Counter<long> Leases = Observability.GatewayMetrics.Instance.CreateCounter<long>(
        "gatehouse.limits.leases", "{lease}", "Leases of strict cluster limits (requests, and tokens of tokenLimits) granted by the counter engine");

    static ClusterLimiter()
    {
        Observability.GatewayMetrics.Instance.CreateObservableGauge("gatehouse.limits.engine.up",
            () => Live.Keys.Select(c => new Measurement<int>(c.IsDown ? 0 : 1, new KeyValuePair<string, object?>("engine", c.Engine.Name))),
            "{engine}", "1 while the counter engine of cluster limits answers, 0 while its limits use onEngineDown");
        Observability.GatewayMetrics.Instance.CreateObservableGauge("gatehouse.limits.engine.nodes",
            () => Live.Keys.Select(c => new Measurement<int>(c.NodeCount, new KeyValuePair<string, object?>("engine", c.Engine.Name))),
            "{node}", "The node count that onEngineDown: share divides a cluster limit by");
    }

    private readonly LimitCounters _counters;
    private readonly ClusterLimitsConfig _settings;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly string _node;
    private readonly bool _ownsEngine;
    private readonly PeriodicLoop _loop;
    private readonly List<(ClusterCounter Counter, uint Window, int Delta)> _round = [];
    private readonly List<(IClusterTally Tally, uint Window, long Delta)> _tallies = [];
    private readonly Lock _sourcesGate = new();
    private volatile Func<IEnumerable<IClusterTally>>[] _tallySources = [];
    private volatile bool _down;
    private int _nodes = 1;
    private long _lastHeartbeat;
    private long _syncs;

    /// <param name="ownsEngine">Dispose <paramref name="engine"/> with this (a Redis connection made for it; not the store).</param>
    public ClusterLimiter(ILimitEngine engine, bool ownsEngine, ClusterLimitsConfig settings, LimitCounters counters, string node, TimeProvider time, ILogger logger)
    {
        (Engine, _ownsEngine, _settings, _counters, _node, _time, _logger) = (engine, ownsEngine, settings, counters, node, time, logger);
        _loop = new PeriodicLoop(settings.SyncInterval, time, RoundAsync);
    }

    public ILimitEngine Engine { get; }

    /// <summary>True from a failed engine call until a round reaches the engine again: cluster limits use their <c>onEngineDown</c> meanwhile.</summary>
    public bool IsDown => _down;

    /// <summary>What <c>onEngineDown: share</c> divides by: <c>gateway.limits.nodes</c>, or the nodes the engine last reported.</summary>
    public int NodeCount => _settings.Nodes ?? Math.Max(1, Volatile.Read(ref _nodes));

    /// <summary>Rounds that reached the engine (tests wait for them instead of sleeping).</summary>
    public long Syncs => Interlocked.Read(ref _syncs);

    /// <summary>Adds a source of tallies (token budgets) that each round syncs with the engine beside the fast counters.</summary>
    public void AddTallies(Func<IEnumerable<IClusterTally>> source)
    {
        lock (_sourcesGate)
        {
            _tallySources = [.. _tallySources, source];
        }
    }

    /// <summary>Runs the first round now, before the listeners open (the node count, and whether the engine answers), then one every <c>syncInterval</c>.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        Live[this] = 0;
        _loop.Start();
        await _loop.FirstRound.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Rounds of the background loop run so far, whether they reached the engine or not.</summary>
    public long Rounds => _loop.Rounds;

    /// <summary>
    /// How many requests of <paramref name="policy"/> this node may have admitted in <paramref name="window"/> (its local
    /// count must stay under it), and the fallback in use when the engine is down (null when it is up).
    /// </summary>
    public int Cap(ClusterCounter counter, LimitPolicy policy, uint window, out EngineDownAction? fallback)
    {
        var strict = counter.Sync == LimitSync.Strict;
        if (!_down)
        {
            fallback = null;
            return strict ? counter.Pushed(window) : Math.Max(0, policy.Requests - counter.Others(window));
        }

        var action = policy.OnEngineDown;
        fallback = action;
        CountFallback(action);
        var leased = strict ? counter.Pushed(window) : 0;
        return action switch
        {
            EngineDownAction.Share => Math.Max(leased, policy.Requests / NodeCount),
            EngineDownAction.Allow => int.MaxValue,
            _ => leased,
        };
    }

    /// <summary>
    /// A lease of <paramref name="policy"/>'s lease size for <paramref name="counter"/> in <paramref name="window"/>; the task
    /// of one already asked for when there is one. Never faults: a failure marks the engine down (and the waiting requests
    /// then decide by the fallback).
    /// </summary>
    public Task LeaseAsync(ClusterCounter counter, LimitPolicy policy, uint window) =>
        counter.Lease(window, () => FetchAsync(counter, policy, window, policy.Lease));

    /// <summary>
    /// Tops what this node holds back up to one lease, in the background, once a quarter of it is left: what it holds
    /// unused never passes one lease, so strict mode's under-use stays within nodes × lease (docs/limits.md).
    /// </summary>
    public void LeaseAhead(ClusterCounter counter, LimitPolicy policy, uint window) =>
        counter.LeaseAhead(window, policy.Lease / 4, policy.Lease, want => FetchAsync(counter, policy, window, want));

    /// <summary>
    /// A lease for the calls waiting on a strict token budget in <paramref name="window"/> (what they lack, and at least the
    /// limit's lease size); the task of one already asked for when there is one. Never faults: a failure marks the engine
    /// down, and the waiting calls then decide by the limit's <c>onEngineDown</c>.
    /// </summary>
    public Task LeaseTokensAsync(Ai.TokenBudget budget, TokenLimitConfig limit, uint window) =>
        budget.Lease(window, limit.EffectiveLease, asked => FetchTokensAsync(budget, limit, window, asked));

    /// <summary>Strict token budgets: tops what this node holds back up to one lease, in the background (see <see cref="Ai.TokenBudget.TopUp"/>).</summary>
    public void LeaseTokensAhead(Ai.TokenBudget budget, TokenLimitConfig limit, uint window)
    {
        var want = budget.TopUp(window, limit.EffectiveLease, limit.Tokens);
        if (want > 0)
        {
            _ = budget.Lease(window, want, asked => FetchTokensAsync(budget, limit, window, asked));
        }
    }

    /// <summary>
    /// While the engine is down: how many tokens a strict budget of <paramref name="limit"/> may hold admitted in the window by
    /// its <c>onEngineDown</c> (its leases count too); null while the engine answers.
    /// </summary>
    public long? TokenFallbackCap(TokenLimitConfig limit)
    {
        if (!_down)
        {
            return null;
        }

        var action = limit.OnEngineDown;
        CountFallback(action);
        return action switch
        {
            EngineDownAction.Share => limit.Tokens / NodeCount,
            EngineDownAction.Allow => long.MaxValue / 2,
            _ => 0,
        };
    }

    private static void CountFallback(EngineDownAction action) =>
        FallbackDecisions.Add(1, new KeyValuePair<string, object?>("action", action switch { EngineDownAction.Share => "share", EngineDownAction.Allow => "allow", _ => "deny" }));

    private async Task FetchTokensAsync(Ai.TokenBudget budget, TokenLimitConfig limit, uint window, long want)
    {
        try
        {
            var grant = await Engine.ReserveAsync(budget.EngineKey, window, want, limit.Tokens, Expires(limit.Per, window), CancellationToken.None)
                .WaitAsync(_settings.Timeout, _time).ConfigureAwait(false);
            budget.Leased(window, want, grant.Granted, limit.Tokens);
            Leases.Add(1);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Failed(e);
        }
    }

    private async Task FetchAsync(ClusterCounter counter, LimitPolicy policy, uint window, int want)
    {
        try
        {
            var grant = await Engine.ReserveAsync(counter.EngineKey, window, want, policy.Requests, Expires(policy.Per, window), CancellationToken.None)
                .WaitAsync(_settings.Timeout, _time).ConfigureAwait(false);
            counter.Answered(window, (int)grant.Granted, grant.Total, grant.Granted < want ? policy.Requests : null);
            Leases.Add(1);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Failed(e);
        }
    }

    private async Task RoundAsync(CancellationToken stop)
    {
        var now = _time.GetUtcNow();
        try
        {
            if (_down || _lastHeartbeat == 0 || now.UtcTicks - _lastHeartbeat >= TimeSpan.TicksPerSecond)
            {
                var nodes = await Engine.HeartbeatAsync(_node, now, stop).WaitAsync(_settings.Timeout, _time, stop).ConfigureAwait(false);
                Volatile.Write(ref _nodes, nodes);
                _lastHeartbeat = now.UtcTicks;
            }

            // What the engine does not have yet: fast counts since the last round, and anything a strict node admitted
            // past its leases (while the engine was down, or usage reported through the service API). Fast counters with
            // nothing new are read (a delta of 0) to learn the other nodes' counts.
            _round.Clear();
            foreach (var counter in _counters.ClusterCounters())
            {
                var window = counter.Window;
                if (window != LimitWindows.Index(counter.Per, now.UtcTicks))
                {
                    continue;
                }

                var count = counter.Count(window);
                var delta = count - counter.Pushed(window);
                if (delta > 0 || (counter.Sync == LimitSync.Fast && count > 0))
                {
                    _round.Add((counter, window, Math.Max(delta, 0)));
                }
            }

            // And the other tallies (token budgets), in the same round trip.
            _tallies.Clear();
            foreach (var source in _tallySources)
            {
                foreach (var tally in source())
                {
                    if (tally.TakeDelta(now.UtcTicks, out var window, out var delta))
                    {
                        _tallies.Add((tally, window, Math.Max(delta, 0)));
                    }
                }
            }

            var reconciled = 0L;
            if (_round.Count + _tallies.Count > 0)
            {
                var deltas = _round.Select(r => new CounterDelta(r.Counter.EngineKey, r.Window, r.Delta, Expires(r.Counter.Per, r.Window)))
                    .Concat(_tallies.Select(t => new CounterDelta(t.Tally.EngineKey, t.Window, t.Delta, Expires(t.Tally.Per, t.Window)))).ToArray();
                var totals = await Engine.AddAsync(deltas, stop).WaitAsync(_settings.Timeout, _time, stop).ConfigureAwait(false);
                for (var i = 0; i < _round.Count; i++)
                {
                    _round[i].Counter.Answered(_round[i].Window, _round[i].Delta, totals[i]);
                    reconciled += _round[i].Delta;
                }

                for (var i = 0; i < _tallies.Count; i++)
                {
                    _tallies[i].Tally.Answered(_tallies[i].Window, _tallies[i].Delta, totals[_round.Count + i]);
                }
            }

            Interlocked.Increment(ref _syncs);
            if (_down)
            {
                _down = false;
                LogEngineBack(_logger, Engine.Name, reconciled);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            Failed(e);
        }
    }

    private void Failed(Exception e)
    {
        EngineFailures.Add(1);
        if (!_down)
        {
            _down = true;
            LogEngineDown(_logger, Engine.Name, e is TimeoutException ? $"no answer within {_settings.Timeout.TotalMilliseconds:0} ms" : Reason(e));
        }
    }

    // One line an operator can read: StackExchange.Redis appends its thread-pool diagnostics after ", mc: ".
    private static string Reason(Exception e)
    {
        var message = e.Message.ReplaceLineEndings(" ");
        var diagnostics = message.IndexOf(", mc: ", StringComparison.Ordinal);
        return diagnostics > 0 ? message[..diagnostics] : message;
    }

    // The engine may forget a counter a while after its window ends (a late sync of a node whose clock lags still lands).
    private static DateTimeOffset Expires(LimitPeriod per, uint window) =>
        new DateTimeOffset(LimitWindows.EndTicks(per, window), TimeSpan.Zero).AddMinutes(5);

    /// <summary>Stops the loop, then adds what was counted since its last round (a graceful stop loses nothing of fast limits).</summary>
    public async ValueTask DisposeAsync()
    {
        Live.TryRemove(this, out _);
        await _loop.DisposeAsync().ConfigureAwait(false);
        if (!_down)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await RoundAsync(timeout.Token).ConfigureAwait(false);
        }

        if (_ownsEngine && Engine is IAsyncDisposable owned)
        {
            await owned.DisposeAsync().ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The counter engine of cluster limits ({Engine}) is unreachable ({Reason}); cluster limits use their onEngineDown until it answers")]
    private static partial void LogEngineDown(ILogger logger, string engine, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The counter engine of cluster limits ({Engine}) answers again; {Count} requests admitted meanwhile were added to it")]
    private static partial void LogEngineBack(ILogger logger, string engine, long count);
}
