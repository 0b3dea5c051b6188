using System.Net;
using System.Text.Json;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>Requests no route serves get RFC 9457 problems, never a forwarded request.</summary>
public sealed class RouteProblemTests
{
    [Fact]
    public async Task UnknownPath_Gets404NoRouteProblem()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend);
        using var request = new HttpRequestMessage(HttpMethod.Get, "/nowhere/else?x=1");
        request.Headers.Add("X-Request-Id", "find-me-404");

        using var response = await gateway.Client.SendAsync(request);
        var problem = await ProblemAsync(response);

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal("urn:gatehouse:problem:no-route", problem.GetProperty("type").GetString());
        Assert.Equal(404, problem.GetProperty("status").GetInt32());
        Assert.Contains("/nowhere/else", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal("find-me-404", problem.GetProperty("requestId").GetString());
        Assert.Equal("find-me-404", response.Headers.GetValues("X-Request-Id").Single());
    }

    [Fact]
    public async Task KnownPathOtherMethod_Gets405WithAllowListingEveryRouteMethod()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend);

        using var response = await gateway.Client.SendAsync(new HttpRequestMessage(HttpMethod.Delete, "/items/7"));
        var problem = await ProblemAsync(response);

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType!.MediaType);
        Assert.Equal(["GET", "HEAD", "PUT"], response.Content.Headers.Allow.Order());
        Assert.Equal("urn:gatehouse:problem:method-not-allowed", problem.GetProperty("type").GetString());
        Assert.Equal(405, problem.GetProperty("status").GetInt32());
        Assert.Matches("^[0-9a-f]{32}$", problem.GetProperty("requestId").GetString());
    }

    [Fact]
    public async Task KnownPathAllowedMethods_AreForwarded()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await StartAsync(backend);

        using var get = await gateway.Client.GetAsync("/items/7");
        using var put = await gateway.Client.PutAsync("/items/7", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
    }

    private static Task<TestGateway> StartAsync(TestBackend backend) => TestGateway.StartAsync($$"""
        version: 1
        services:
          items:
            targets: [{{backend.Url}}]
        routes:
          items-read:
            methods: [GET]
            path: /items/{id}
            service: items
          items-write:
            methods: [PUT]
            path: /items/{id}
            service: items
        """);

    private static async Task<JsonElement> ProblemAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
}
