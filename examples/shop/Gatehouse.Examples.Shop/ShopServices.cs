using Gatehouse.Examples.Shop.Hosting;
using Gatehouse.Examples.Shop.Models;
using Gatehouse.Examples.Shop.Orders;
using Gatehouse.Examples.Shop.Products;
using Gatehouse.Examples.Shop.Users;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Examples.Shop;

/// <summary>
/// The demo shop's three services: users, products and orders. Each is a small HTTP API with fixed
/// in-memory data, a <c>GET /health</c> endpoint and its own OpenAPI document at <c>GET /openapi.json</c>.
/// </summary>
/// <remarks>
/// Each method starts one service in the calling process and returns once it is listening. The actual
/// address is in <see cref="WebApplication.Urls"/> (useful with port 0). The caller owns the returned app:
/// stop it with <c>StopAsync</c> and <c>DisposeAsync</c>; the service does not react to Ctrl+C itself.
/// </remarks>
public static class ShopServices
{
    /// <summary>Port of the users service in <c>gatehouse demo</c>.</summary>
    public const int UsersPort = 5101;

    /// <summary>Port of the products service in <c>gatehouse demo</c>.</summary>
    public const int ProductsPort = 5102;

    /// <summary>Port of the orders service in <c>gatehouse demo</c>.</summary>
    public const int OrdersPort = 5103;

    /// <summary>Port of the example model server in <c>gatehouse demo</c>.</summary>
    public const int ModelsPort = 5104;

    /// <summary>Starts the users service on <paramref name="url"/>, for example <c>http://127.0.0.1:5101</c> or <c>http://127.0.0.1:0</c>.</summary>
    public static Task<WebApplication> StartUsersAsync(string url, CancellationToken ct = default) =>
        ShopHost.StartAsync("users", url, configureServices: null, UserEndpoints.Map, ct);

    /// <summary>Starts the products service on <paramref name="url"/>, for example <c>http://127.0.0.1:5102</c> or <c>http://127.0.0.1:0</c>.</summary>
    public static Task<WebApplication> StartProductsAsync(string url, CancellationToken ct = default) =>
        ShopHost.StartAsync("products", url, configureServices: null, ProductEndpoints.Map, ct);

    /// <summary>Starts the orders service on <paramref name="url"/>, for example <c>http://127.0.0.1:5103</c> or <c>http://127.0.0.1:0</c>.</summary>
    public static Task<WebApplication> StartOrdersAsync(string url, CancellationToken ct = default) =>
        ShopHost.StartAsync("orders", url, services =>
        {
            services.AddSingleton<OrderStore>();
            OrderSchemas.AddRequiredFields(services);
        }, OrderEndpoints.Map, ct);

    /// <summary>
    /// Starts the example OpenAI-compatible model server (deterministic answers, real usage counts, no network) on
    /// <paramref name="url"/>; its API base is <c>URL/v1</c>.
    /// </summary>
    public static Task<WebApplication> StartModelsAsync(string url, CancellationToken ct = default) =>
        ShopHost.StartAsync("models", url, configureServices: null, ModelEndpoints.Map, ct);
}
