using System.Diagnostics;
using System.Net;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Upstreams;

/// <summary>Builds the proxy-safe <see cref="SocketsHttpHandler"/> of one service.</summary>
internal static class UpstreamHandlerFactory
{
    public static HttpMessageInvoker Create(ServiceConfig config)
    {
        var handler = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = config.ConnectTimeout,
            // The gateway passes the client's traceparent on unchanged; it does not inject its own.
            ActivityHeadersPropagator = null,
            PooledConnectionLifetime = config.DnsRefresh,
        };
        if (config.MaxConnectionsPerTarget is { } max)
        {
            handler.MaxConnectionsPerServer = max;
        }

        Debug.Assert(handler.UseProxy == false);
        return new HttpMessageInvoker(handler, disposeHandler: true);
    }
}
