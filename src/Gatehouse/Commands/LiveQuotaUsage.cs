using Gatehouse.Gateway.Runtime;
using Gatehouse.Management.Portal;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// The portal's usage source until usage analytics (issue 19) replaces it: the live limit counters of the gateway in
/// this process. It knows each limit's current window on this node, and no history (so no calls per day).
/// </summary>
internal sealed class LiveQuotaUsage(GatewayRuntime runtime) : IConsumerUsage
{
    public Task<ApplicationUsage> GetAsync(string applicationId, CancellationToken cancellationToken) =>
        Task.FromResult(new ApplicationUsage(runtime.UsageOf(applicationId), []));
}
