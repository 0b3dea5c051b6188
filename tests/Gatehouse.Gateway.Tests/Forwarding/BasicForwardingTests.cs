using System.Net;
using System.Net.Http.Json;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Forwarding;

public sealed class BasicForwardingTests
{
    [Fact]
    public async Task Get_WithQuery_ReachesUpstreamWithPathQueryAndForwardedHeaders()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync(TestGateway.SimpleYaml(backend.Url));

        var response = await gateway.Client.GetAsync("/users/42?expand=orders&x=%20");
        var echo = await response.Content.ReadFromJsonAsync<EchoResponse>();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("/users/42?expand=orders&x=%20", echo!.RawTarget);
        Assert.Equal("127.0.0.1", echo.Header("X-Forwarded-For"));
        Assert.Equal("http", echo.Header("X-Forwarded-Proto"));
        Assert.Equal($"127.0.0.1:{gateway.Port}", echo.Header("X-Forwarded-Host"));
        Assert.Equal($"127.0.0.1:{backend.Port}", echo.Header("Host"));
        Assert.Equal(32, echo.Header("X-Request-Id")!.Length);
        Assert.Equal(echo.Header("X-Request-Id"), response.Headers.GetValues("X-Request-Id").Single());
    }
}
