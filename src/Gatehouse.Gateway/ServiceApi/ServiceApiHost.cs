using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.ServiceApi;

/// <summary>
/// The service API's own small Kestrel app, on <c>gateway.serviceApi.url</c>. It shares the gateway's
/// <see cref="GatewayRuntime"/>, so reloads (plans, keys, service tokens) apply to it at once; its URL is read at start.
/// </summary>
internal sealed class ServiceApiHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ServiceApiHost(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The address actually bound (port 0 resolved).</summary>
    public string Url { get; }

    public static async Task<ServiceApiHost> StartAsync(ServiceApiConfig config, GatewayRuntime runtime, Observability.GatewayTelemetry? telemetry, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var handler = new ServiceApiHandler(runtime, telemetry);
        var (app, url) = await SideListener.StartAsync(config.Url, loggers, kestrel =>
        {
            kestrel.Limits.MaxRequestBodySize = ServiceApiHandler.MaxBodyBytes;
            GatewayHost.Bind(kestrel, new ListenerConfig { Url = config.Url, Protocols = ListenerProtocols.Http1 });
        }, app => app.Run(handler.HandleAsync), cancellationToken).ConfigureAwait(false);
        return new ServiceApiHost(app, url);
    }

    public ValueTask DisposeAsync() => SideListener.StopAsync(_app);
}
