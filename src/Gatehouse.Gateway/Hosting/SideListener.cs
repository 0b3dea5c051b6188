using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// A small Kestrel app of its own beside the gateway (the service API, the health listener of <c>run --config</c>):
/// the gateway's logging, no Server header, one listener, started and its bound address read back.
/// </summary>
internal static class SideListener
{
    /// <summary>Starts the app; returns it with the address actually bound (port 0 resolved).</summary>
    public static async Task<(WebApplication App, string Url)> StartAsync(string url, ILoggerFactory loggers, Action<KestrelServerOptions> listen,
        Action<WebApplication> map, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, Args = [] });
        builder.Logging.ClearProviders();

        // The gateway's logging, so both apps write to the same place; the container does not own (or dispose) it.
        builder.Services.AddSingleton(loggers);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            listen(kestrel);
        });

        var app = builder.Build();
        map(app);
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? url;
        return (app, bound);
    }

    /// <summary>Stops and disposes the app.</summary>
    public static async ValueTask StopAsync(WebApplication app)
    {
        await app.StopAsync().ConfigureAwait(false);
        await app.DisposeAsync().ConfigureAwait(false);
    }
}
