using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Usage;

namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// An application's limits with what is left of each now, from this node's counters: its plan's limits, then its plan's
/// limits of single operations (<c>operationLimits</c>, named <c>OPERATION/period</c>), then its token and spend limits
/// (<c>tokens/day</c>, <c>spend/month</c>). For applications of the config
/// and of the portal alike. The admin API's usage report, the console's and the portal's application pages all read it.
/// </summary>
internal static class QuotaReport
{
    /// <summary>
    /// The windows of <paramref name="application"/>'s limits, shadow ones included (marked); empty when the application
    /// is unknown or nothing limits it.
    /// </summary>
    /// <param name="tokens">The node's token limiter: the plan's token and spend limits come after its request limits.</param>
    public static IReadOnlyList<QuotaWindow> For(GatewayRuntime runtime, string application, Ai.TokenLimiter? tokens = null)
    {
        if (runtime.Current.Access is not { } access || Find(runtime, access, application) is not { } app)
        {
            return [];
        }

        var now = runtime.Engine.Time.GetUtcNow();
        var ticks = now.UtcTicks;
        var windows = new List<QuotaWindow>();
        foreach (var (policy, operation) in PoliciesOf(access, app))
        {
            var index = LimitWindows.Index(policy.Per, ticks);
            windows.Add(new QuotaWindow(
                policy.Name,
                policy.Per.ToString().ToLowerInvariant(),
                policy.IsQuota,
                policy.IsShadow,
                policy.Requests,
                runtime.Counters.Used(app.Id, policy, now),
                now.AddSeconds(LimitWindows.SecondsUntilEnd(policy.Per, index, ticks)))
            {
                Operation = operation,
            });
        }

        if (tokens is not null)
        {
            windows.AddRange(tokens.Windows(app.Plan.Name, app.Id));
        }

        return windows;
    }

    /// <summary>An application of the config, or one made in the portal.</summary>
    private static ApplicationModel? Find(GatewayRuntime runtime, AccessModel access, string application) =>
        access.Applications.TryGetValue(application, out var configured) ? configured : runtime.Engine.Consumers.Find(access, application);

    /// <summary>The plan's policies (operation null), then each operation's own (by operation id), each once.</summary>
    private static List<(LimitPolicy Policy, string? Operation)> PoliciesOf(AccessModel access, ApplicationModel app)
    {
        var planPolicies = app.Plan.Limits.Policies;
        var policies = planPolicies.Select(p => (p, (string?)null)).ToList();
        foreach (var (operation, target) in access.Operations.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            // An operation's set is the plan's policies and then its own (AccessCompiler); only the own ones are added.
            foreach (var set in (ReadOnlySpan<LimitSet?>)[target.Read[app.Plan.Index], target.Write[app.Plan.Index]])
            {
                if (set is not null && !ReferenceEquals(set, app.Plan.Limits))
                {
                    policies.AddRange(set.Policies.Where(p => !planPolicies.Contains(p) && !policies.Any(q => ReferenceEquals(q.Item1, p))).Select(p => (p, (string?)operation)));
                }
            }
        }

        return policies;
    }
}
