using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>The demo as a user runs it: the real executable, the shop's services, the contract routes.</summary>
public sealed partial class DemoCommandTests
{
    [Fact]
    public async Task Demo_ContractRoutes_ReachTheMatchingServices()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var url = await demo.WaitForOutputAsync(GatewayLine(), TimeSpan.FromSeconds(60));
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };

        var user = await client.GetFromJsonAsync<JsonElement>("/users/1");
        Assert.Equal(1, user.GetProperty("id").GetInt32());

        var product = await client.GetFromJsonAsync<JsonElement>("/products/3");
        Assert.Equal(3, product.GetProperty("id").GetInt32());

        var products = await client.GetFromJsonAsync<JsonElement>("/products");
        Assert.True(products.GetArrayLength() >= 20);

        var orders = await client.GetFromJsonAsync<JsonElement>("/orders?userId=1");
        Assert.True(orders.GetArrayLength() >= 1);
        Assert.All(orders.EnumerateArray(), o => Assert.Equal(1, o.GetProperty("userId").GetInt32()));

        var firstOrderId = orders[0].GetProperty("id").GetInt32();
        var order = await client.GetFromJsonAsync<JsonElement>($"/orders/{firstOrderId}");
        Assert.Equal(firstOrderId, order.GetProperty("id").GetInt32());

        var created = await client.PostAsJsonAsync("/orders", new { userId = 2, items = new[] { new { productId = 3, quantity = 2 } } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var createdOrder = await created.Content.ReadFromJsonAsync<JsonElement>();
        var fetched = await client.GetFromJsonAsync<JsonElement>($"/orders/{createdOrder.GetProperty("id").GetInt32()}");
        Assert.Equal(2, fetched.GetProperty("userId").GetInt32());

        var missing = await client.GetAsync("/nowhere");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();
}
