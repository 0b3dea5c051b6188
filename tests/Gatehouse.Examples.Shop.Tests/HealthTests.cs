using System.Net;

namespace Gatehouse.Examples.Shop.Tests;

public sealed class HealthTests(ShopFixture shop) : IClassFixture<ShopFixture>
{
    [Theory]
    [InlineData("users")]
    [InlineData("products")]
    [InlineData("orders")]
    public async Task Health_RunningService_Returns200StatusOk(string service)
    {
        using var response = await shop.For(service).GetAsync(new Uri("/health", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("""{"status":"ok"}""", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("users")]
    [InlineData("products")]
    [InlineData("orders")]
    public async Task UnknownPath_AnyService_Returns404Problem(string service)
    {
        await shop.For(service).GetProblemAsync("/nothing-here", HttpStatusCode.NotFound);
    }
}
