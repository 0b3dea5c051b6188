using System.Net;
using System.Net.Http.Json;
using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Routing;

/// <summary>
/// Routes that also match on a header or a query parameter (<c>match</c>): API versions by header, a beta by query
/// parameter, and a route without conditions that serves the rest, through a real gateway to a real backend.
/// </summary>
public sealed class MatchConditionTests
{
    [Fact]
    public async Task HeaderAndQueryConditions_PickTheirRoute_AndTheRouteWithoutServesTheRest()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              backend: { targets: [{{backend.Url}}] }
            routes:
              v2:
                path: /users/{id}
                service: backend
                upstreamPath: /v2/users/{id}
                match: { headers: { X-Api-Version: "2" } }
              beta:
                path: /users/{id}
                service: backend
                upstreamPath: /beta/users/{id}
                match: { query: { beta: "true" } }
              v1:
                path: /users/{id}
                service: backend
                upstreamPath: /v1/users/{id}
            """);

        Assert.Equal("/v2/users/7", await TargetAsync(gateway, "/users/7", ("X-Api-Version", "2")));
        Assert.Equal("/v2/users/7", await TargetAsync(gateway, "/users/7", ("x-api-version", "2"))); // header names in any case
        Assert.Equal("/v1/users/7", await TargetAsync(gateway, "/users/7", ("X-Api-Version", "3")));
        Assert.Equal("/v1/users/7", await TargetAsync(gateway, "/users/7"));
        Assert.StartsWith("/beta/users/7", await TargetAsync(gateway, "/users/7?beta=true"), StringComparison.Ordinal);
        Assert.StartsWith("/v1/users/7", await TargetAsync(gateway, "/users/7?beta=TRUE"), StringComparison.Ordinal); // values are exact
        // Both conditions hold: the first route written takes it.
        Assert.StartsWith("/v2/users/7", await TargetAsync(gateway, "/users/7?beta=true", ("X-Api-Version", "2")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutARouteForTheRest_ARequestNoConditionTakesIs404_AndAWrongMethodOfOneThatDoesIs405()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              backend: { targets: [{{backend.Url}}] }
            routes:
              internal:
                path: /reports
                methods: [GET]
                service: backend
                match: { headers: { X-Team: ops } }
            """);

        using var client = gateway.CreateClient(HttpVersion.Version11);
        using var taken = new HttpRequestMessage(HttpMethod.Get, "/reports");
        taken.Headers.Add("X-Team", "ops");
        Assert.Equal(HttpStatusCode.OK, (await client.SendAsync(taken)).StatusCode);

        using var notTaken = await client.GetAsync("/reports");
        Assert.Equal(HttpStatusCode.NotFound, notTaken.StatusCode);

        using var post = new HttpRequestMessage(HttpMethod.Post, "/reports");
        post.Headers.Add("X-Team", "ops");
        using var wrongMethod = await client.SendAsync(post);
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
        Assert.Equal("GET, HEAD", string.Join(", ", wrongMethod.Content.Headers.Allow));
        Assert.Equal(HttpStatusCode.NotFound, (await client.PostAsync("/reports", null)).StatusCode);
    }

    /// <summary>
    /// A browser's preflight carries the names of the headers its request will send, not their values: it reaches the
    /// route whose header conditions it names, and that route's CORS answers it. Naming a header in a preflight never
    /// routes an ordinary request past a condition it does not meet.
    /// </summary>
    [Fact]
    public async Task APreflight_ReachesTheRouteWhoseHeaderItNames_AndNamingItRoutesNothingElse()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            services:
              backend: { targets: [{{backend.Url}}] }
            routes:
              v2:
                path: /users/{id}
                service: backend
                match: { headers: { X-Api-Version: "2" } }
                policies: { cors: { origins: ["https://app.example.com"], headers: [X-Api-Version] } }
              internal:
                path: /reports
                service: backend
                match: { headers: { X-Team: ops } }
            """);
        using var client = gateway.CreateClient(HttpVersion.Version11);

        using var preflight = Preflight("/users/7", "x-api-version");
        using var answered = await client.SendAsync(preflight);
        Assert.Equal(HttpStatusCode.NoContent, answered.StatusCode);
        Assert.Equal("https://app.example.com", answered.Headers.GetValues("Access-Control-Allow-Origin").Single());

        // Not naming it: no route takes the path (no route without conditions), so 404.
        using var unnamed = Preflight("/users/7", "content-type");
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(unnamed)).StatusCode);

        // A route without CORS: an OPTIONS request naming X-Team is not a way past its condition.
        using var probe = Preflight("/reports", "x-team");
        Assert.Equal(HttpStatusCode.NotFound, (await client.SendAsync(probe)).StatusCode);
    }

    private static HttpRequestMessage Preflight(string path, string headers)
    {
        var request = new HttpRequestMessage(HttpMethod.Options, path);
        request.Headers.Add("Origin", "https://app.example.com");
        request.Headers.Add("Access-Control-Request-Method", "GET");
        request.Headers.Add("Access-Control-Request-Headers", headers);
        return request;
    }

    private static async Task<string> TargetAsync(TestGateway gateway, string path, params (string Name, string Value)[] headers)
    {
        using var client = gateway.CreateClient(HttpVersion.Version11);
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.Add(name, value);
        }

        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<EchoResponse>())!.RawTarget;
    }
}
