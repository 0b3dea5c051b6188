using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.TestSupport;

/// <summary>A real Kestrel server on a loopback port chosen by the OS, standing in for an upstream service.</summary>
internal sealed class Backend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private Backend(WebApplication app, Uri url)
    {
        _app = app;
        Url = url;
    }

    /// <summary>The bound address, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public Uri Url { get; }

    public int Port => Url.Port;

    /// <param name="map">Maps the backend's endpoints.</param>
    /// <param name="https">Listen with TLS; <paramref name="configure"/> must then set the certificate.</param>
    /// <param name="configure">Further Kestrel or builder settings.</param>
    public static async Task<Backend> StartAsync(Action<WebApplication> map, bool https = false, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        if (https)
        {
            // The slim builder leaves out HTTPS URL support unless asked.
            builder.WebHost.UseKestrelHttpsConfiguration();
        }

        configure?.Invoke(builder);
        var app = builder.Build();
        app.Urls.Add(https ? "https://127.0.0.1:0" : "http://127.0.0.1:0");
        map(app);
        await app.StartAsync();
        return new Backend(app, new Uri(app.Urls.Single()));
    }

    /// <summary>Stops listening, so that connections to <see cref="Url"/> are refused.</summary>
    public Task StopAsync() => _app.StopAsync();

    public ValueTask DisposeAsync() => _app.DisposeAsync();
}
