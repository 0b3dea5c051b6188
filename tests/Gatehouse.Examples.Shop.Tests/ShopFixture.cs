using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Examples.Shop.Tests;

/// <summary>The three shop services on loopback port 0, and a client for each.</summary>
public sealed class ShopFixture : IAsyncLifetime
{
    private readonly List<WebApplication> _apps = [];
    private readonly List<HttpClient> _clients = [];

    public HttpClient Users => _clients[0];

    public HttpClient Products => _clients[1];

    public HttpClient Orders => _clients[2];

    /// <summary>The client for a service by name: <c>users</c>, <c>products</c> or <c>orders</c>.</summary>
    public HttpClient For(string service) => service switch
    {
        "users" => Users,
        "products" => Products,
        "orders" => Orders,
        _ => throw new ArgumentOutOfRangeException(nameof(service), service, "Not a shop service."),
    };

    public async Task InitializeAsync()
    {
        await StartAsync(ShopServices.StartUsersAsync);
        await StartAsync(ShopServices.StartProductsAsync);
        await StartAsync(ShopServices.StartOrdersAsync);
    }

    public async Task DisposeAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }

        foreach (var app in _apps)
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    private async Task StartAsync(Func<string, CancellationToken, Task<WebApplication>> start)
    {
        var app = await start("http://127.0.0.1:0", CancellationToken.None);
        _apps.Add(app);
        _clients.Add(new HttpClient { BaseAddress = new Uri(app.Urls.Single()) });
    }
}
