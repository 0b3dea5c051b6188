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

    public static async Task<ServiceApiHost> StartAsync(ServiceApiConfig config, GatewayRuntime runtime, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, Args = [] });
        builder.Logging.ClearProviders();

        // The gateway's logging, so both apps write to the same place; the container does not own (or dispose) it.
        builder.Services.AddSingleton(loggers);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = ServiceApiHandler.MaxBodyBytes;
            GatewayHost.Bind(kestrel, new ListenerConfig { Url = config.Url, Protocols = ListenerProtocols.Http1 });
        });

        var app = builder.Build();
        var handler = new ServiceApiHandler(runtime);
        app.Run(handler.HandleAsync);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? config.Url;
        return new ServiceApiHost(app, url);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
