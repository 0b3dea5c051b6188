using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Analytics;

/// <summary>A backend and the config the usage tests serve: two applications on two plans, and one open route.</summary>
internal sealed class UsageScenario : IAsyncDisposable
{
    private readonly WebApplication _backend;

    private UsageScenario(WebApplication backend) => _backend = backend;

    public static readonly string GoldKey = ApiKeyHash.NewKey();

    public static readonly string SilverKey = ApiKeyHash.NewKey();

    public string Yaml => $$"""
        version: 1
        gateway:
          observability:
            usage: { flushInterval: 5m }
        services:
          backend:
            targets: [{{_backend.Urls.First()}}]
            operations:
              items.get: { method: GET, path: "/items/{id}" }
              items.fail: { method: GET, path: "/fail" }
        routes:
          items: { operation: items.get }
          fail: { operation: items.fail }
        plans:
          gold: { include: [ { path: "/**" } ] }
          silver: { include: [ { operation: items.get } ] }
        accounts: { acme: {} }
        applications:
          gold-app: { account: acme, plan: gold, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(GoldKey)}} } ] }
          silver-app: { account: acme, plan: silver, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(SilverKey)}} } ] }
        """;

    public static async Task<UsageScenario> StartAsync(Func<HttpContext, Task>? handler = null)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapGet("/fail", context =>
        {
            context.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        app.MapGet("/items/{id}", handler ?? (context => context.Response.WriteAsync("item " + context.Request.RouteValues["id"])));
        await app.StartAsync();
        return new UsageScenario(app);
    }

    public ValueTask DisposeAsync() => _backend.DisposeAsync();
}
