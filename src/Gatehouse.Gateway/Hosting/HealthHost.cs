using Gatehouse.Gateway.Runtime;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// The admin listener of <c>gatehouse run --config</c>, which has no admin API: <c>GET /live</c> (200 while the process
/// runs) and <c>GET /ready</c> (200 while it serves, 503 from the moment it starts to drain). It stays up until the
/// gateway's listeners have closed, so a load balancer sees the 503 for the whole drain.
/// </summary>
internal sealed class HealthHost : IAsyncDisposable
{
    private readonly WebApplication _app;

    private HealthHost(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The address actually bound (port 0 resolved).</summary>
    public string Url { get; }

    public static async Task<HealthHost> StartAsync(string url, GatewayRuntime runtime, Func<bool>? hasConfig, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var (app, bound) = await SideListener.StartAsync(url, loggers,
            kestrel => GatewayHost.Bind(kestrel, new ListenerConfig { Url = url, Protocols = ListenerProtocols.Http1 }),
            app => app.Run(context => Answer(context, runtime, hasConfig)), cancellationToken).ConfigureAwait(false);
        return new HealthHost(app, bound);
    }

    /// <summary>Answers <c>/live</c> and <c>/ready</c> (GET or HEAD); 404 for anything else.</summary>
    internal static Task Answer(HttpContext context, GatewayRuntime runtime, Func<bool>? hasConfig = null)
    {
        var request = context.Request;
        if (!HttpMethods.IsGet(request.Method) && !HttpMethods.IsHead(request.Method))
        {
            context.Response.StatusCode = StatusCodes.Status405MethodNotAllowed;
            context.Response.Headers.Allow = "GET, HEAD";
            return Task.CompletedTask;
        }

        return request.Path.Value switch
        {
            "/live" => Write(context, StatusCodes.Status200OK, "live\n"),
            "/ready" when hasConfig?.Invoke() == false => Write(context, StatusCodes.Status503ServiceUnavailable, "no config yet\n"),
            "/ready" => ReadyAsync(context, runtime),
            _ => Write(context, StatusCodes.Status404NotFound, "not found: this listener serves /ready and /live\n"),
        };
    }

    /// <summary>200 "ready" while serving; 503 "draining" once a drain began.</summary>
    internal static Task ReadyAsync(HttpContext context, GatewayRuntime runtime) => runtime.Draining
        ? Write(context, StatusCodes.Status503ServiceUnavailable, "draining\n")
        : Write(context, StatusCodes.Status200OK, "ready\n");

    private static Task Write(HttpContext context, int status, string text)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : context.Response.WriteAsync(text);
    }

    public ValueTask DisposeAsync() => SideListener.StopAsync(_app);
}
