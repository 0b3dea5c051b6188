using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Limiting.Cluster;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Hosting;

/// <summary>Which counter engine this node's cluster limits use (docs/limits.md, "Which engine"), made once at start.</summary>
internal static partial class ClusterLimits
{
    /// <summary>
    /// Redis when <c>gateway.limits.redis</c> is set, else the store's engine (PostgreSQL), else none: every limit then counts
    /// per node, and a limit that asks for <c>scope: cluster</c> is named in one warning.
    /// </summary>
    public static async Task<ClusterLimiter?> CreateAsync(GatehouseConfig config, GatewayHostOptions options, LimitCounters counters, ILogger logger)
    {
        var settings = config.Gateway.Limits;
        var node = options.NodeId ?? $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}";
        if (settings.Redis is { } redis)
        {
            var engine = await RedisLimitEngine.ConnectAsync(redis, settings.Timeout).ConfigureAwait(false);
            return new ClusterLimiter(engine, ownsEngine: true, settings, counters, node, options.Time, logger);
        }

        if (options.LimitEngine is { } shared)
        {
            return new ClusterLimiter(shared, ownsEngine: false, settings, counters, node, options.Time, logger);
        }

        var asked = config.Plans
            .SelectMany(plan => plan.Value.Limits.Select((l, i) => (l.Scope, $"plans.{plan.Key}.limits[{i}]"))
                .Concat(plan.Value.OperationLimits.SelectMany(op => op.Value.Select((l, i) => (l.Scope, $"plans.{plan.Key}.operationLimits.{op.Key}[{i}]"))))
                .Concat(plan.Value.TokenLimits.Select((l, i) => (l.Scope, $"plans.{plan.Key}.tokenLimits[{i}]")))
                .Concat(plan.Value.SpendLimits.Select((l, i) => (l.Scope, $"plans.{plan.Key}.spendLimits[{i}]"))))
            .FirstOrDefault(x => x.Scope == LimitScope.Cluster);
        if (asked.Item2 is not null)
        {
            LogNoEngine(logger, asked.Item2);
        }

        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} has scope: cluster, but this node shares no counter engine (set gateway.limits.redis, or run with --store postgres://...); cluster limits count per node")]
    private static partial void LogNoEngine(ILogger logger, string path);
}
