using System.Net;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Gatehouse.Management.Web;

/// <summary>
/// The client's address and scheme on the portal and the console behind proxies: <c>X-Forwarded-For</c> and
/// <c>X-Forwarded-Proto</c>, believed from loopback (a TLS proxy on this machine) and from <c>gateway.trustedProxies</c>,
/// read back past every trusted proxy as the gateway reads them. Without it, sign-in limits per client address, the API's
/// unknown-token limit and the change log would see one address, the proxy's, for everyone behind it.
/// </summary>
/// <remarks>
/// ASP.NET Core's <see cref="ForwardedHeadersMiddleware"/> does the reading; its trusted proxies are fixed when it is made,
/// so one is made for each list the store's current revision has, looked up at start and then at most every
/// <see cref="Refresh"/> (one "which revision is current" query; the config itself is the one already loaded).
/// </remarks>
internal sealed class TrustedForwardedHeaders
{
    /// <summary>How often the trusted proxies are looked up again while requests arrive.</summary>
    public static readonly TimeSpan Refresh = TimeSpan.FromSeconds(10);

    private readonly RequestDelegate _next;
    private readonly Func<CancellationToken, Task<GatehouseConfig?>> _config;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private State _state;
    private int _refreshing;

    private TrustedForwardedHeaders(RequestDelegate next, Func<CancellationToken, Task<GatehouseConfig?>> config, TimeProvider time, ILoggerFactory loggers, IReadOnlyList<string> proxies)
    {
        (_next, _config, _time, _loggers) = (next, config, time, loggers);
        _logger = loggers.CreateLogger("Gatehouse.Web");
        _state = new State(string.Join(',', proxies), Make(proxies), time.GetTimestamp());
    }

    private sealed record State(string Key, ForwardedHeadersMiddleware Middleware, long ReadAt);

    /// <summary>
    /// The trusted proxies of the store's current revision, read once at start; none when it does not load or the store
    /// cannot be read (the middleware looks again after <see cref="Refresh"/>).
    /// </summary>
    public static async Task<IReadOnlyList<string>> ReadAsync(Func<CancellationToken, Task<GatehouseConfig?>> config, CancellationToken cancellationToken)
    {
        try
        {
            return (await config(cancellationToken).ConfigureAwait(false))?.Gateway.TrustedProxies ?? [];
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return [];
        }
    }

    /// <summary>Adds the middleware to <paramref name="app"/>, starting from <paramref name="proxies"/> (<see cref="ReadAsync"/>).</summary>
    public static void Use(IApplicationBuilder app, Func<CancellationToken, Task<GatehouseConfig?>> config, TimeProvider time, ILoggerFactory? loggers, IReadOnlyList<string> proxies) =>
        app.Use(next => new TrustedForwardedHeaders(next, config, time, loggers ?? NullLoggerFactory.Instance, proxies).InvokeAsync);

    private Task InvokeAsync(HttpContext context)
    {
        var state = _state;
        if (_time.GetElapsedTime(state.ReadAt) >= Refresh && Interlocked.Exchange(ref _refreshing, 1) == 0)
        {
            _ = RefreshAsync(CancellationToken.None);
        }

        return state.Middleware.Invoke(context);
    }

    private async Task RefreshAsync(CancellationToken cancellationToken)
    {
        try
        {
            var proxies = (await _config(cancellationToken).ConfigureAwait(false))?.Gateway.TrustedProxies ?? [];
            var key = string.Join(',', proxies);
            _state = key == _state.Key ? _state with { ReadAt = _time.GetTimestamp() } : new State(key, Make(proxies), _time.GetTimestamp());
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // The store is down: the last list stays, and is looked up again after the next interval.
            _state = _state with { ReadAt = _time.GetTimestamp() };
            _logger.LogWarning(e, "Cannot read gateway.trustedProxies from the store; the portal and console keep the last list.");
        }
        finally
        {
            Volatile.Write(ref _refreshing, 0);
        }
    }

    private ForwardedHeadersMiddleware Make(IReadOnlyList<string> proxies)
    {
        // Loopback stays trusted, as ASP.NET Core's defaults have it (127.0.0.0/8, ::1); ForwardLimit null reads back past
        // every trusted proxy, not only the last one.
        var options = new ForwardedHeadersOptions { ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto, ForwardLimit = null };
        foreach (var proxy in proxies)
        {
            // Validated with the config (ConfigValidator.CheckProxy): an address or a CIDR range.
            if (System.Net.IPNetwork.TryParse(proxy, out var network))
            {
                options.KnownIPNetworks.Add(network);
            }
            else if (IPAddress.TryParse(proxy, out var address))
            {
                options.KnownProxies.Add(address);
            }
        }

        return new ForwardedHeadersMiddleware(_next, _loggers, Microsoft.Extensions.Options.Options.Create(options));
    }
}
