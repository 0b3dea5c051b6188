using Gatehouse.Gateway.Runtime;
using Gatehouse.Management.Analytics;
using Gatehouse.Management.Portal;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// The portal's usage page for one application: its last <see cref="Days"/> days from usage analytics in the store
/// (calls, errors, p95, model tokens), and its limits with what is left now from the live counters of the gateway in this
/// process (none on a control-plane node, which runs no gateway).
/// </summary>
internal sealed class PortalUsage(Management.Analytics.IConsumerUsage? history, GatewayRuntime? runtime, TimeProvider time) : Management.Portal.IConsumerUsage
{
    /// <summary>How many days back the page shows.</summary>
    public const int Days = 30;

    /// <summary>The usage of the store's analytics (when the store keeps usage) and of <paramref name="runtime"/>'s counters.</summary>
    public static PortalUsage Of(Management.Stores.IConfigStore store, GatewayRuntime? runtime) =>
        new(store is Management.Stores.IUsageStore usage ? new ConsumerUsage(new UsageAnalytics(usage), null) : null, runtime, TimeProvider.System);

    public async Task<ApplicationUsage> GetAsync(string applicationId, CancellationToken cancellationToken)
    {
        var limits = runtime?.UsageOf(applicationId) ?? [];
        if (history is null)
        {
            return new ApplicationUsage(limits, []);
        }

        var today = DateOnly.FromDateTime(time.GetUtcNow().UtcDateTime);
        var report = await history.GetAsync(applicationId, today.AddDays(1 - Days), today, cancellationToken).ConfigureAwait(false);
        var days = report.Days.OrderByDescending(d => d.Day).Select(d => new DailyCalls(d.Day, d.Calls)
        {
            ClientErrors = d.ClientErrors,
            Errors = d.Errors,
            P95Ms = d.P95Ms,
            PromptTokens = d.PromptTokens,
            CompletionTokens = d.CompletionTokens,
        }).ToList();
        return new ApplicationUsage(limits, days);
    }
}
