using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.OpenApi;

namespace Gatehouse.Examples.Shop.Hosting;

/// <summary>What the three shop services have in common: hosting, errors, health and the OpenAPI document.</summary>
internal static class ShopHost
{
    public static async Task<WebApplication> StartAsync(
        string serviceName,
        string url,
        Action<IServiceCollection>? configureServices,
        Action<IEndpointRouteBuilder> mapEndpoints,
        CancellationToken ct)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(url);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions
        {
            Args = [],
            ApplicationName = typeof(ShopHost).Assembly.GetName().Name,
        });

        // The services run inside another program (`gatehouse demo`, the tests). Its appsettings.json,
        // environment (ASPNETCORE_URLS, Kestrel__Endpoints__...) and command line are meant for it, not
        // for them, so they read no configuration at all.
        builder.Configuration.Sources.Clear();

        // The demo prints the gateway's output; the services only speak up when something is wrong.
        builder.Logging.SetMinimumLevel(LogLevel.Warning);

        // A service that cannot start (its port taken) is thrown to the caller, which says so in one line; the host's
        // own "Hosting failed to start" log would print the stack trace before it.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.None);

        // The caller decides when the services stop (after the gateway has drained), not Ctrl+C.
        builder.Services.AddSingleton<IHostLifetime, CallerOwnedLifetime>();

        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddProblemDetails();
        builder.Services.AddExceptionHandler<BadRequestExceptionHandler>();

        // Binding failures throw (and reach BadRequestExceptionHandler) instead of ending as an empty 400.
        builder.Services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);

        // Numbers are numbers: "2" is not a quantity. This also keeps `"type": "integer"` in the OpenAPI
        // schemas instead of the web default's integer-or-string.
        builder.Services.ConfigureHttpJsonOptions(options => options.SerializerOptions.NumberHandling = JsonNumberHandling.Strict);

        builder.Services.AddOpenApi(options => options.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo
            {
                Title = $"Gatehouse demo shop: {serviceName}",
                Version = "1.0",
                Description = $"The {serviceName} service of the Gatehouse demo shop. Its data is fixed, so ids can be named in docs and tests.",
            };
            return Task.CompletedTask;
        }));
        configureServices?.Invoke(builder.Services);

        var app = builder.Build();
        app.Urls.Add(url);

        // Exceptions and empty error responses (an unknown route, for one) become problem+json.
        app.UseExceptionHandler();
        app.UseStatusCodePages();

        app.MapGet("/health", () => TypedResults.Ok(new HealthStatus("ok")))
            .ExcludeFromDescription();
        app.MapOpenApi("/openapi.json");
        mapEndpoints(app);

        try
        {
            await app.StartAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            // The port is taken or startup was cancelled: the caller never gets the app, so release it here.
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return app;
    }
}
