using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Gateway.Tests.TestSupport;

/// <summary>
/// <see cref="TestBackend"/> under the name and signature that tests written before the two support folders
/// were merged still use (branches in flight). New tests use <see cref="TestBackend"/>; delete this once
/// nothing does.
/// </summary>
internal sealed class Backend : IAsyncDisposable
{
    private readonly TestBackend _backend;

    private Backend(TestBackend backend)
    {
        _backend = backend;
        Url = new Uri(backend.Url);
    }

    /// <summary>The bound address, e.g. <c>http://127.0.0.1:40123</c>.</summary>
    public Uri Url { get; }

    public int Port => Url.Port;

    /// <param name="map">Maps the backend's endpoints.</param>
    /// <param name="https">Listen with TLS; <paramref name="configure"/> must then set the certificate (<c>ConfigureHttpsDefaults</c>).</param>
    /// <param name="configure">Further builder settings.</param>
    public static async Task<Backend> StartAsync(Action<WebApplication> map, bool https = false, Action<WebApplicationBuilder>? configure = null) =>
        new(await TestBackend.StartAsync(map, https: https ? _ => { } : null, host: configure));

    /// <summary>Stops listening, so that connections to <see cref="Url"/> are refused.</summary>
    public Task StopAsync() => _backend.StopAsync();

    public ValueTask DisposeAsync() => _backend.DisposeAsync();
}
