using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Gatehouse.Client;

/// <summary>Adds Gatehouse authorization to a service that is not behind the Gatehouse proxy.</summary>
public static class GatehouseApplicationBuilderExtensions
{
    /// <summary>
    /// Checks every request whose operation <see cref="GatehouseAuthorizationOptions.OperationResolver"/> names with
    /// the gateway's service API: refused requests are answered here (401, 403, 429, or 503 when the gateway cannot be
    /// asked), allowed ones carry an <see cref="IGatehouseFeature"/>.
    /// </summary>
    public static IApplicationBuilder UseGatehouseAuthorization(this IApplicationBuilder app, Action<GatehouseAuthorizationOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(app);
        ArgumentNullException.ThrowIfNull(configure);
        var options = new GatehouseAuthorizationOptions();
        configure(options);
        if (options.ServiceApiUrl is null || string.IsNullOrEmpty(options.ServiceToken) || options.OperationResolver is null)
        {
            throw new InvalidOperationException("UseGatehouseAuthorization needs ServiceApiUrl, ServiceToken and OperationResolver.");
        }

        var api = new ServiceApiClient(options);
        var reporter = new UsageReporter(api, options.ReportInterval, options.TimeProvider);

        // Report what the cache served before the process ends, then let go of the connections.
        app.ApplicationServices.GetService<IHostApplicationLifetime>()?.ApplicationStopping.Register(() =>
        {
            reporter.DisposeAsync().AsTask().Wait(options.Timeout);
            api.Dispose();
        });

        return app.Use(next => new GatehouseAuthorizationMiddleware(next, options, api, reporter).InvokeAsync);
    }
}
