using System.Net;
using System.Text.Json;

namespace Gatehouse.Examples.Shop.Tests;

public sealed class ProductsServiceTests(ShopFixture shop) : IClassFixture<ShopFixture>
{
    [Fact]
    public async Task ListProducts_WithoutIds_ReturnsTheWholeCatalogue()
    {
        var products = await shop.Products.GetJsonAsync("/products");

        Assert.Equal(Enumerable.Range(1, 20), products.Ids());
        Assert.All(products.EnumerateArray(), p =>
        {
            Assert.Equal(["id", "name", "price", "currency"], p.PropertyNames());
            Assert.Equal(JsonValueKind.Number, p.GetProperty("price").ValueKind);
            Assert.True(p.GetProperty("price").GetDecimal() > 0);
            Assert.Equal("EUR", p.GetProperty("currency").GetString());
        });
    }

    [Theory]
    [InlineData("3,1,2", new[] { 3, 1, 2 })]
    [InlineData("20", new[] { 20 })]
    [InlineData(" 4 , 5 ", new[] { 4, 5 })]
    [InlineData("5,99,5", new[] { 5 })]
    [InlineData("99", new int[0])]
    [InlineData("", new int[0])]
    public async Task ListProducts_WithIds_ReturnsThoseThatExistInTheOrderAskedOnce(string ids, int[] expected)
    {
        var products = await shop.Products.GetJsonAsync($"/products?ids={Uri.EscapeDataString(ids)}");

        Assert.Equal(expected, products.Ids());
    }

    [Theory]
    [InlineData("1,x")]
    [InlineData("-1")]
    [InlineData("1.5")]
    public async Task ListProducts_IdsNotWholeNumbers_Returns400ProblemNamingTheBadId(string ids)
    {
        var problem = await shop.Products.GetProblemAsync($"/products?ids={Uri.EscapeDataString(ids)}", HttpStatusCode.BadRequest);

        var bad = ids.Split(',')[^1];
        Assert.Contains($"'{bad}'", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task GetProduct_KnownId_ReturnsItWithDecimalPrice()
    {
        var product = await shop.Products.GetJsonAsync("/products/1");

        Assert.Equal(1, product.GetProperty("id").GetInt32());
        Assert.Equal("Espresso beans, 1 kg", product.GetProperty("name").GetString());
        Assert.Equal(24.90m, product.GetProperty("price").GetDecimal());
        Assert.Equal("EUR", product.GetProperty("currency").GetString());
    }

    [Fact]
    public async Task GetProduct_UnknownId_Returns404Problem()
    {
        var problem = await shop.Products.GetProblemAsync("/products/21", HttpStatusCode.NotFound);

        Assert.Contains("21", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }
}
