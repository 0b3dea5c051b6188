using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Gatehouse.Examples.Shop.Tests;

/// <remarks>Orders created here are for user 5, so the lists of the other users stay as seeded.</remarks>
public sealed class OrdersServiceTests(ShopFixture shop) : IClassFixture<ShopFixture>
{
    private const string ValidOrder = """{ "userId": 5, "items": [ { "productId": 3, "quantity": 2 }, { "productId": 7, "quantity": 1 } ] }""";

    [Fact]
    public async Task ListOrders_WithoutUserId_ReturnsEverySeededOrderById()
    {
        var orders = await shop.Orders.GetJsonAsync("/orders");

        var ids = orders.Ids();
        Assert.Equal(Enumerable.Range(1, 12), ids.Take(12));
        Assert.Equal(ids.Order(), ids);
        Assert.All(orders.EnumerateArray(), o => Assert.Equal(["id", "userId", "createdAt", "items"], o.PropertyNames()));
    }

    [Theory]
    [InlineData(1, new[] { 1, 2, 3 })]
    [InlineData(2, new[] { 4, 5 })]
    [InlineData(3, new[] { 6, 7, 8 })]
    [InlineData(4, new[] { 9, 10 })]
    [InlineData(6, new int[0])]
    [InlineData(99, new int[0])]
    public async Task ListOrders_WithUserId_ReturnsOnlyThatUsersOrders(int userId, int[] expected)
    {
        var orders = await shop.Orders.GetJsonAsync($"/orders?userId={userId}");

        Assert.Equal(expected, orders.Ids());
        Assert.All(orders.EnumerateArray(), o => Assert.Equal(userId, o.GetProperty("userId").GetInt32()));
    }

    [Fact]
    public async Task ListOrders_UserIdNotANumber_Returns400ProblemNamingTheParameter()
    {
        var problem = await shop.Orders.GetProblemAsync("/orders?userId=ada", HttpStatusCode.BadRequest);

        Assert.Contains("userId", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetOrder_SeededId_ReturnsItWithItemsAndItsFixedUtcTimestamp()
    {
        var order = await shop.Orders.GetJsonAsync("/orders/1");

        Assert.Equal(1, order.GetProperty("id").GetInt32());
        Assert.Equal(1, order.GetProperty("userId").GetInt32());
        var createdAt = DateTimeOffset.Parse(order.GetProperty("createdAt").GetString()!, CultureInfo.InvariantCulture);
        Assert.Equal(new DateTimeOffset(2025, 1, 6, 9, 15, 0, TimeSpan.Zero), createdAt);
        Assert.Equal(TimeSpan.Zero, createdAt.Offset);
        Assert.Equal([(1, 1), (3, 2)], Items(order));
    }

    [Fact]
    public async Task GetOrder_UnknownId_Returns404Problem()
    {
        var problem = await shop.Orders.GetProblemAsync("/orders/9999", HttpStatusCode.NotFound);

        Assert.Contains("9999", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateOrder_ValidBody_Returns201WithLocationOfTheCreatedOrder()
    {
        using var response = await shop.Orders.PostJsonAsync("/orders", ValidOrder);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        var created = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = created.GetProperty("id").GetInt32();
        Assert.True(id > 12, $"Created order got id {id}, which a seeded order already has.");
        Assert.Equal(5, created.GetProperty("userId").GetInt32());
        Assert.Equal([(3, 2), (7, 1)], Items(created));
        Assert.Equal(new Uri($"/orders/{id}", UriKind.Relative), response.Headers.Location);

        var fetched = await shop.Orders.GetJsonAsync(response.Headers.Location!.OriginalString);
        Assert.Equal(created.GetRawText(), fetched.GetRawText());
        var mine = await shop.Orders.GetJsonAsync("/orders?userId=5");
        Assert.Contains(id, mine.Ids());
    }

    [Fact]
    public async Task CreateOrder_UnknownFields_AreIgnored()
    {
        using var response = await shop.Orders.PostJsonAsync(
            "/orders", """{ "userId": 5, "note": "leave at the door", "items": [ { "productId": 1, "quantity": 1, "gift": true } ] }""");

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
    }

    [Theory]
    [InlineData("""{ "items": [ { "productId": 3, "quantity": 2 } ] }""", "userId")]
    [InlineData("""{ "userId": 99, "items": [ { "productId": 3, "quantity": 2 } ] }""", "userId")]
    [InlineData("""{ "userId": 5 }""", "items")]
    [InlineData("""{ "userId": 5, "items": [] }""", "items")]
    [InlineData("""{ "userId": 5, "items": [ null ] }""", "items[0]")]
    [InlineData("""{ "userId": 5, "items": [ { "productId": 3, "quantity": 0 } ] }""", "items[0].quantity")]
    [InlineData("""{ "userId": 5, "items": [ { "productId": 3, "quantity": -1 } ] }""", "items[0].quantity")]
    [InlineData("""{ "userId": 5, "items": [ { "productId": 3 } ] }""", "items[0].quantity")]
    [InlineData("""{ "userId": 5, "items": [ { "productId": 3, "quantity": 1 }, { "quantity": 1 } ] }""", "items[1].productId")]
    [InlineData("""{ "userId": 5, "items": [ { "productId": 999, "quantity": 1 } ] }""", "items[0].productId")]
    public async Task CreateOrder_InvalidBody_Returns400ProblemNamingTheFieldAndCreatesNothing(string body, string field)
    {
        var before = (await shop.Orders.GetJsonAsync("/orders")).GetArrayLength();

        using var response = await shop.Orders.PostJsonAsync("/orders", body);

        var problem = await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        var errors = problem.GetProperty("errors");
        Assert.Equal([field], errors.PropertyNames());
        Assert.False(string.IsNullOrWhiteSpace(errors.GetProperty(field)[0].GetString()));
        Assert.Equal(before, (await shop.Orders.GetJsonAsync("/orders")).GetArrayLength());
    }

    [Fact]
    public async Task CreateOrder_SeveralProblems_ReportsThemAllAtOnce()
    {
        using var response = await shop.Orders.PostJsonAsync(
            "/orders", """{ "items": [ { "productId": 999, "quantity": 0 } ] }""");

        var problem = await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal(
            ["items[0].productId", "items[0].quantity", "userId"],
            problem.GetProperty("errors").PropertyNames().Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("{ nope", "JSON")]
    [InlineData("""{ "userId": "5", "items": [ { "productId": 3, "quantity": 1 } ] }""", "$.userId")]
    [InlineData("", "body")]
    public async Task CreateOrder_UnreadableBody_Returns400ProblemSayingWhy(string body, string mentioned)
    {
        using var response = await shop.Orders.PostJsonAsync("/orders", body);

        var problem = await Http.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Contains(mentioned, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CreateOrder_ManyAtOnce_EachGetsItsOwnId()
    {
        var responses = await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => shop.Orders.PostJsonAsync("/orders", ValidOrder)));

        var ids = new List<int>();
        foreach (var response in responses)
        {
            using (response)
            {
                Assert.Equal(HttpStatusCode.Created, response.StatusCode);
                ids.Add((await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32());
            }
        }

        Assert.Equal(32, ids.Distinct().Count());
        var all = (await shop.Orders.GetJsonAsync("/orders")).Ids();
        Assert.All(ids, id => Assert.Contains(id, all));
    }

    private static (int ProductId, int Quantity)[] Items(JsonElement order) =>
        order.GetProperty("items").EnumerateArray()
            .Select(i => (i.GetProperty("productId").GetInt32(), i.GetProperty("quantity").GetInt32()))
            .ToArray();
}
