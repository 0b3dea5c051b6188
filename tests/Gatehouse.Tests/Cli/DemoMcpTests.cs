using System.Text.Json;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Gatehouse.Tests.Cli;

/// <summary>Issue 22's demo contract for MCP, with the official C# SDK's client against the real executable.</summary>
public sealed partial class DemoMcpTests
{
    [Fact]
    public async Task Demo_Mcp_RetailKeyListsTheRetailPlan_AndGetUserReturnsUser1()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var url = await demo.WaitForOutputAsync(GatewayLine(), TimeSpan.FromSeconds(60));
        await demo.WaitForOutputAsync(KeyLine(), TimeSpan.FromSeconds(30));
        var key = KeyLine().Match(demo.StandardOutput).Groups[1].Value;
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["X-Api-Key"] = key },
        }));

        var tools = await client.ListToolsAsync();

        // The retail plan: users, products and orders reads, and the order-history composition; no write.
        Assert.Equal(
            ["orders.getOrder", "orders.listOrders", "products.getProduct", "products.listProducts", "shop.orderHistory", "users.getUser", "users.listUsers"],
            tools.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray());
        Assert.All(tools, t => Assert.True(t.ProtocolTool.Annotations?.ReadOnlyHint));

        var result = await client.CallToolAsync("users.getUser", new Dictionary<string, object?> { ["id"] = 1 });

        Assert.NotEqual(true, result.IsError);
        var user = JsonDocument.Parse(Assert.IsType<TextContentBlock>(Assert.Single(result.Content)).Text).RootElement;
        Assert.Equal(1, user.GetProperty("id").GetInt32());
    }

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();

    [GeneratedRegex(@"^demo key retail: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex KeyLine();
}
