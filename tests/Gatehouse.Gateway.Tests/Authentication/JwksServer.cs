using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Authentication;

/// <summary>A real Kestrel server on 127.0.0.1:0 that serves a JWKS the test can change, and counts every request.</summary>
internal sealed class JwksServer : IAsyncDisposable
{
    private readonly TestBackend _backend;
    private volatile string _jwks;
    private int _hits;

    private JwksServer(TestBackend backend, string jwks)
    {
        _backend = backend;
        _jwks = jwks;
    }

    public Uri Url => new(new Uri(_backend.Url), "/.well-known/jwks.json");

    /// <summary>Requests received, for any path.</summary>
    public int Hits => Volatile.Read(ref _hits);

    public string Jwks
    {
        get => _jwks;
        set => _jwks = value;
    }

    public static async Task<JwksServer> StartAsync(string jwks)
    {
        JwksServer? server = null;
        var backend = await TestBackend.StartAsync(app => app.Run(async context =>
        {
            Interlocked.Increment(ref server!._hits);
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(server._jwks);
        }));
        server = new JwksServer(backend, jwks);
        return server;
    }

    public Task StopAsync() => _backend.StopAsync();

    public ValueTask DisposeAsync() => _backend.DisposeAsync();
}
