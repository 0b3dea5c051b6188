using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// <c>gateway.observability.metrics.url</c>: <c>GET /metrics</c> on a listener of its own, without a token, for a Prometheus
/// that scrapes from a private network (the admin listener serves the same text behind the admin token).
/// </summary>
internal sealed class MetricsListener : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MetricsListener(WebApplication app, string url) => (_app, Url) = (app, url);

    /// <summary>The address bound (port 0 resolved).</summary>
    public string Url { get; }

    public static async Task<MetricsListener> StartAsync(string url, PrometheusText metrics, CancellationToken cancellationToken)
    {
        var uri = new Uri(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal));
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, Args = [] });
        builder.Logging.ClearProviders();
        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = false);
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.AddServerHeader = false;
            var address = uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns ? IPAddress.Loopback : IPAddress.Parse(uri.Host.Trim('[', ']'));
            k.Listen(address, uri.Port);
        });
        var app = builder.Build();
        app.MapGet("/metrics", context => WriteAsync(context, metrics));
        app.MapFallback(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync("This listener serves only GET /metrics.\n", context.RequestAborted);
        });
        await app.StartAsync(cancellationToken).ConfigureAwait(false);
        var bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? url;
        return new MetricsListener(app, bound);
    }

    /// <summary>Answers a scrape (also used by the admin API's <c>/metrics</c>).</summary>
    public static async Task WriteAsync(HttpContext context, PrometheusText metrics)
    {
        // Collecting walks every series under a lock; it runs on the thread pool, never on a socket thread.
        var text = await Task.Run(metrics.Scrape, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = PrometheusText.ContentType;
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.WriteAsync(text, context.RequestAborted).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
