using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>The demo's order-history composition, as a user calls it through the real executable (#4).</summary>
public sealed partial class DemoCompositionTests
{
    [Fact]
    public async Task Demo_OrderHistory_JoinsProductsOntoOrderItems()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var url = await demo.WaitForOutputAsync(GatewayLine(), TimeSpan.FromSeconds(60));
        await demo.WaitForOutputAsync(KeyLine(), TimeSpan.FromSeconds(30));
        var key = KeyLine().Match(demo.StandardOutput).Groups[1].Value;
        using var client = new HttpClient { BaseAddress = new Uri(url), Timeout = TimeSpan.FromSeconds(30) };
        client.DefaultRequestHeaders.Add("X-Api-Key", key);

        var response = await client.GetAsync("/users/1/order-history");
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var history = JsonDocument.Parse(text).RootElement;
        Assert.Equal(1, history.GetProperty("user").GetProperty("id").GetInt32());
        var orders = history.GetProperty("orders");
        Assert.True(orders.GetArrayLength() >= 1);
        foreach (var order in orders.EnumerateArray())
        {
            var total = 0m;
            foreach (var item in order.GetProperty("items").EnumerateArray())
            {
                var product = item.GetProperty("product");
                Assert.Equal(item.GetProperty("productId").GetInt32(), product.GetProperty("id").GetInt32());
                Assert.False(string.IsNullOrEmpty(product.GetProperty("name").GetString()));
                Assert.False(product.TryGetProperty("currency", out _));
                total += item.GetProperty("quantity").GetInt32() * product.GetProperty("price").GetDecimal();
            }

            Assert.Equal(total, order.GetProperty("total").GetDecimal());
        }

        Assert.Contains("products;dur=", response.Headers.GetValues("Server-Timing").Single(), StringComparison.Ordinal);

        var missing = await client.GetAsync("/users/99999/order-history");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();

    [GeneratedRegex(@"^demo key retail: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex KeyLine();
}
