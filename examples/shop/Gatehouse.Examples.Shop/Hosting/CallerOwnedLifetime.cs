using Microsoft.Extensions.Hosting;

namespace Gatehouse.Examples.Shop.Hosting;

/// <summary>
/// A host lifetime that leaves stopping to whoever started the service. The default console lifetime
/// would stop every embedded service on Ctrl+C at the same moment as the gateway in front of it, so
/// requests still draining through the gateway would fail.
/// </summary>
internal sealed class CallerOwnedLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
