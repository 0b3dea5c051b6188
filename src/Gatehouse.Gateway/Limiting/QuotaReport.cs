using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Usage;

namespace Gatehouse.Gateway.Limiting;

/// <summary>An application's plan limits and what is left of each now, from this node's counters (for the consumer's usage page).</summary>
internal static class QuotaReport
{
    /// <summary>The windows of <paramref name="application"/>'s plan; empty when the application is unknown or its plan has no limits.</summary>
    public static IReadOnlyList<QuotaWindow> For(GatewayRuntime runtime, string application)
    {
        if (runtime.Current.Access is not { } access || !access.Applications.TryGetValue(application, out var app))
        {
            return [];
        }

        var now = runtime.Engine.Time.GetUtcNow();
        var ticks = now.UtcTicks;
        var windows = new List<QuotaWindow>();
        foreach (var policy in app.Plan.Limits.Policies)
        {
            var index = LimitWindows.Index(policy.Per, ticks);
            windows.Add(new QuotaWindow(
                policy.Name,
                policy.Per.ToString().ToLowerInvariant(),
                policy.IsQuota,
                policy.IsShadow,
                policy.Requests,
                runtime.Counters.Used(app.Id, policy, now),
                now.AddSeconds(LimitWindows.SecondsUntilEnd(policy.Per, index, ticks))));
        }

        return windows;
    }
}
