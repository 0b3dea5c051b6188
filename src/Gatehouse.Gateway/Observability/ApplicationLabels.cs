using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// The opt-in application label of <c>gatehouse.application.requests</c>, capped: the first <c>max</c> applications seen get
/// a series each, every later one counts under <c>_other</c>, and each such request is counted in
/// <c>gatehouse.metrics.label_overflow</c> (logged once per process), so the cap is visible, never silent.
/// </summary>
internal sealed partial class ApplicationLabels(int max, ILogger logger)
{
    public const string Other = "_other";

    private readonly ConcurrentDictionary<string, bool> _labelled = new(StringComparer.Ordinal);
    private int _count;
    private int _warned;

    public void Count(string application, string plan)
    {
        if (_labelled.ContainsKey(application))
        {
            GatewayMetrics.Application(application, plan, overflow: false);
            return;
        }

        if (Interlocked.Increment(ref _count) <= max)
        {
            _labelled.TryAdd(application, true);
            GatewayMetrics.Application(application, plan, overflow: false);
            return;
        }

        Interlocked.Decrement(ref _count);
        GatewayMetrics.Application(Other, plan, overflow: true);
        if (Interlocked.Exchange(ref _warned, 1) == 0)
        {
            LogCapReached(logger, max);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The application label of gatehouse_application_requests_total reached its cap of {Max} applications; further applications are counted as '_other' (gatehouse_metrics_label_overflow_total)")]
    private static partial void LogCapReached(ILogger logger, int max);
}
