using System.Net;

namespace Gatehouse.Examples.Shop.Tests;

/// <summary>The fixed data hangs together, so a composition of orders, users and products never dangles.</summary>
public sealed class SeedDataTests(ShopFixture shop) : IClassFixture<ShopFixture>
{
    [Fact]
    public async Task SeededOrders_Always_ReferenceUsersThatExist()
    {
        var orders = await shop.Orders.GetJsonAsync("/orders");

        var userIds = orders.EnumerateArray().Select(o => o.GetProperty("userId").GetInt32()).Distinct().ToList();
        Assert.True(orders.GetArrayLength() >= 10, $"Expected at least 10 seeded orders, got {orders.GetArrayLength()}.");
        Assert.True(userIds.Count >= 5, $"Expected orders from at least 5 users, got {userIds.Count}.");
        foreach (var userId in userIds)
        {
            using var response = await shop.Users.GetAsync(new Uri($"/users/{userId}", UriKind.Relative));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"An order names user {userId}, which the users service does not have.");
        }
    }

    [Fact]
    public async Task SeededOrders_Always_ReferenceProductsThatExist()
    {
        var orders = await shop.Orders.GetJsonAsync("/orders");

        var productIds = orders.EnumerateArray()
            .SelectMany(o => o.GetProperty("items").EnumerateArray())
            .Select(i => i.GetProperty("productId").GetInt32())
            .Distinct()
            .Order()
            .ToArray();
        Assert.NotEmpty(productIds);
        var products = await shop.Products.GetJsonAsync($"/products?ids={string.Join(',', productIds)}");
        Assert.Equal(productIds, products.Ids().Order());
    }

    [Fact]
    public async Task SeededOrders_Always_HaveDistinctFixedUtcTimestampsAndPositiveQuantities()
    {
        var orders = await shop.Orders.GetJsonAsync("/orders");

        var stamps = orders.EnumerateArray().Select(o => o.GetProperty("createdAt").GetDateTimeOffset()).ToList();
        Assert.All(stamps, s => Assert.Equal(TimeSpan.Zero, s.Offset));
        Assert.All(stamps, s => Assert.True(s < new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero), $"{s:O} is not a fixed seed time."));
        Assert.Equal(stamps.Count, stamps.Distinct().Count());
        Assert.All(
            orders.EnumerateArray().SelectMany(o => o.GetProperty("items").EnumerateArray()),
            i => Assert.True(i.GetProperty("quantity").GetInt32() >= 1));
    }
}
