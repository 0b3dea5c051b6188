using System.Net;
using System.Net.Sockets;

namespace Gatehouse.Examples.Shop.Tests;

public sealed class ShopServicesTests
{
    [Fact]
    public void DemoPorts_Always_AreTheDocumentedOnes()
    {
        Assert.Equal((5101, 5102, 5103), (ShopServices.UsersPort, ShopServices.ProductsPort, ShopServices.OrdersPort));
    }

    [Fact]
    public async Task Start_PortZero_UrlsGivesTheBoundPort()
    {
        var app = await ShopServices.StartProductsAsync("http://127.0.0.1:0");
        try
        {
            var url = new Uri(app.Urls.Single());
            Assert.Equal("127.0.0.1", url.Host);
            Assert.NotEqual(0, url.Port);

            using var client = new HttpClient { BaseAddress = url };
            using var response = await client.GetAsync(new Uri("/health", UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Start_PortInUse_Throws()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await Assert.ThrowsAnyAsync<IOException>(() => ShopServices.StartUsersAsync($"http://127.0.0.1:{port}"));
    }

    [Fact]
    public async Task Start_CancelledToken_Throws()
    {
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => ShopServices.StartOrdersAsync("http://127.0.0.1:0", cancelled.Token));
    }

    [Fact]
    public async Task Orders_TwoInstances_DoNotShareCreatedOrders()
    {
        var first = await ShopServices.StartOrdersAsync("http://127.0.0.1:0");
        var second = await ShopServices.StartOrdersAsync("http://127.0.0.1:0");
        try
        {
            using var firstClient = new HttpClient { BaseAddress = new Uri(first.Urls.Single()) };
            using var secondClient = new HttpClient { BaseAddress = new Uri(second.Urls.Single()) };
            using var created = await firstClient.PostJsonAsync("/orders", """{ "userId": 6, "items": [ { "productId": 1, "quantity": 1 } ] }""");
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);

            Assert.Equal(1, (await firstClient.GetJsonAsync("/orders?userId=6")).GetArrayLength());
            Assert.Equal(0, (await secondClient.GetJsonAsync("/orders?userId=6")).GetArrayLength());
        }
        finally
        {
            foreach (var app in new[] { first, second })
            {
                await app.StopAsync();
                await app.DisposeAsync();
            }
        }
    }
}
