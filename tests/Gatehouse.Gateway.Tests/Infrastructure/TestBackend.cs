using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>A real Kestrel upstream on 127.0.0.1 with an OS-chosen port.</summary>
internal sealed class TestBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestBackend(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>Base URL, e.g. <c>http://127.0.0.1:41234</c>.</summary>
    public string Url { get; }

    public int Port => new Uri(Url).Port;

    /// <summary>Starts a backend that answers every request with <paramref name="handler"/>.</summary>
    public static Task<TestBackend> StartAsync(RequestDelegate handler, HttpProtocols protocols = HttpProtocols.Http1) =>
        StartAsync(app => app.Run(handler), protocols);

    /// <summary>Starts a backend whose pipeline <paramref name="configure"/> builds (map endpoints, use WebSockets...).</summary>
    /// <param name="https">When set, the backend listens with TLS, and this sets the certificate (and any client certificate rules).</param>
    /// <param name="host">Further builder settings (services, configuration); the endpoint itself is set by the other parameters.</param>
    public static async Task<TestBackend> StartAsync(
        Action<WebApplication> configure,
        HttpProtocols protocols = HttpProtocols.Http1,
        Action<ListenOptions>? listen = null,
        Action<HttpsConnectionAdapterOptions>? https = null,
        Action<WebApplicationBuilder>? host = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (https is not null)
        {
            // The slim builder leaves out HTTPS support unless asked.
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        host?.Invoke(builder);

        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = null;
            k.Listen(System.Net.IPAddress.Loopback, 0, o =>
            {
                o.Protocols = protocols;
                if (https is not null)
                {
                    o.UseHttps(https);
                }

                listen?.Invoke(o);
            });
        });
        var app = builder.Build();
        configure(app);
        await app.StartAsync();
        return new TestBackend(app, app.Urls.First());
    }

    /// <summary>A backend that echoes method, path (raw target), headers and body length as JSON.</summary>
    public static Task<TestBackend> StartEchoAsync(HttpProtocols protocols = HttpProtocols.Http1) => StartAsync(async context =>
    {
        var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
        long length = 0;
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(buffer)) > 0)
        {
            length += read;
        }

        await context.Response.WriteAsJsonAsync(new EchoResponse(
            context.Request.Method,
            raw,
            context.Request.Protocol,
            context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToArray(), StringComparer.OrdinalIgnoreCase),
            length));
    }, protocols);

    /// <summary>Stops listening, so that connections to <see cref="Url"/> are refused.</summary>
    public Task StopAsync() => _app.StopAsync();

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}

/// <summary>What <see cref="TestBackend.StartEchoAsync"/> answers.</summary>
internal sealed record EchoResponse(string Method, string RawTarget, string Protocol, Dictionary<string, string?[]> Headers, long BodyLength)
{
    /// <summary>The header's values joined by ',', or null; names compare case-insensitively, as in HTTP.</summary>
    public string? Header(string name)
    {
        foreach (var (key, values) in Headers)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase))
            {
                return string.Join(",", values);
            }
        }

        return null;
    }
}
