using Gatehouse.Examples.Shop;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Tests.Infrastructure;

/// <summary>The demo shop's three services in the test process, on free loopback ports.</summary>
internal sealed class RunningShop : IAsyncDisposable
{
    private readonly WebApplication[] _apps;

    private RunningShop(WebApplication[] apps)
    {
        _apps = apps;
        Environment = new Dictionary<string, string>
        {
            ["SHOP_USERS_URL"] = apps[0].Urls.First(),
            ["SHOP_PRODUCTS_URL"] = apps[1].Urls.First(),
            ["SHOP_ORDERS_URL"] = apps[2].Urls.First(),
        };
    }

    /// <summary>The variables examples/shop/gatehouse.yaml reads the services' addresses from.</summary>
    public IReadOnlyDictionary<string, string> Environment { get; }

    /// <summary><see cref="Environment"/> as a lookup for <c>ConfigLoader</c>.</summary>
    public string? Lookup(string name) => Environment.GetValueOrDefault(name);

    public static async Task<RunningShop> StartAsync()
    {
        var apps = new List<WebApplication>();
        try
        {
            apps.Add(await ShopServices.StartUsersAsync("http://127.0.0.1:0"));
            apps.Add(await ShopServices.StartProductsAsync("http://127.0.0.1:0"));
            apps.Add(await ShopServices.StartOrdersAsync("http://127.0.0.1:0"));
            return new RunningShop([.. apps]);
        }
        catch
        {
            foreach (var app in apps)
            {
                await app.DisposeAsync();
            }

            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var app in _apps)
        {
            await app.DisposeAsync();
        }
    }
}
