using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Model.Consumers;

namespace Gatehouse.Gateway.Runtime;

// Portal applications and the live counters the portal shows: beside the snapshots, never recompiled with them.
internal sealed partial class GatewayRuntime
{
    /// <summary>The applications made in the developer portal; the store's follower feeds it (docs/portal.md).</summary>
    public IConsumerSink Consumers => Engine.Consumers;

    /// <summary>
    /// The limits of application <paramref name="applicationId"/> (config or portal) with what this node has counted in
    /// each current window: its plan's, then its plan's limits of single operations (named <c>OPERATION/period</c>);
    /// shadow limits left out. Empty when the application or its plan is unknown, or nothing limits it.
    /// </summary>
    public IReadOnlyList<LimitUsage> UsageOf(string applicationId)
    {
        if (_current?.Access is not { } access || QuotaReport.Find(this, access, applicationId) is not { } app)
        {
            return [];
        }

        var now = _time.GetUtcNow();
        var result = new List<LimitUsage>();
        foreach (var (policy, operation) in QuotaReport.PoliciesOf(access, app))
        {
            if (policy.IsShadow)
            {
                continue;
            }

            var resets = new DateTimeOffset(LimitWindows.EndTicks(policy.Per, LimitWindows.Index(policy.Per, now.UtcTicks)), TimeSpan.Zero);
            result.Add(new LimitUsage(policy.Name, policy.Per, policy.Requests, Counters.Used(app.Id, policy, now), resets) { Operation = operation });
        }

        return result;
    }
}
