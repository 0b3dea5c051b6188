using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Upstreams;

/// <summary>
/// <c>services.NAME.credential</c> (issue #4, item 6): the gateway's own credential goes to the service on proxied and
/// composed calls, in place of anything the client or a step put in that header; the consumer's stays behind.
/// </summary>
public sealed class ServiceCredentialTests : IAsyncLifetime
{
    private const string Secret = "s3cr3t-orders-token";

    // What the backend saw, per call: the path and every value of Authorization and X-Api-Key.
    private readonly ConcurrentQueue<(string Path, string[] Authorization, string[] ApiKey)> _seen = new();
    private TestBackend _backend = null!;

    public async Task InitializeAsync() => _backend = await TestBackend.StartAsync(async context =>
    {
        _seen.Enqueue((context.Request.Path.Value!, [.. context.Request.Headers.Authorization.Select(v => v!)], [.. context.Request.Headers["X-Api-Key"].Select(v => v!)]));
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(context.Request.Path.StartsWithSegments("/orders") ? """[{"id":1}]""" : """{"id":7,"name":"Ann"}""");
    });

    public async Task DisposeAsync() => await _backend.DisposeAsync();

    private string Yaml(string stepHeaders = "") => $$"""
        version: 1
        services:
          orders:
            targets: [{{_backend.Url}}]
            credential:
              prefix: "Bearer "
              env: ORDERS_TOKEN
          users:
            targets: [{{_backend.Url}}]
        routes:
          orders:
            path: /orders
            service: orders
          users:
            path: /users/{id}
            service: users
        compositions:
          profile:
            path: /profile/{id}
            steps:
              user: { service: users, method: GET, path: "/users/{id}", params: { id: "@request.path.id" } }
              orders:
                service: orders
                method: GET
                path: /orders
                query: { userId: "@request.path.id" }
        {{stepHeaders}}
            response: { user: "@user.body", orders: "@orders.body" }
        """;

    private static GatehouseConfig Load(string yaml, string secret)
    {
        var result = ConfigLoader.Load(yaml, Path.GetTempPath(), name => name == "ORDERS_TOKEN" ? secret : null);
        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        return result.Config!;
    }

    [Fact]
    public async Task ProxiedCall_CarriesTheServiceCredential_InPlaceOfTheClients()
    {
        await using var gw = await TestGateway.StartAsync(Load(Yaml(), Secret));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/orders");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "client-made-this-up");

        using var response = await gw.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = Assert.Single(_seen);
        Assert.Equal(["Bearer " + Secret], seen.Authorization);
    }

    [Fact]
    public async Task ProxiedCall_ToAServiceWithoutACredential_PassesTheClientsHeaderAsBefore()
    {
        await using var gw = await TestGateway.StartAsync(Load(Yaml(), Secret));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/users/7");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "the-clients-own");

        using var response = await gw.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(["Bearer the-clients-own"], Assert.Single(_seen).Authorization);
    }

    [Fact]
    public async Task ComposedCalls_CarryTheCredential_OnlyToItsService_AndAStepCannotReplaceIt()
    {
        // The step copies the client's Authorization into its call; the service's credential still wins.
        await using var gw = await TestGateway.StartAsync(Load(Yaml("""
                    headers: { authorization: "@request.headers.authorization" }
            """), Secret));
        using var request = new HttpRequestMessage(HttpMethod.Get, "/profile/7");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "client-made-this-up");

        using var response = await gw.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var calls = _seen.ToDictionary(s => s.Path);
        Assert.Equal(["Bearer " + Secret], calls["/orders"].Authorization);
        // The composition's call to users is the gateway's own: the consumer's credential is not passed on.
        Assert.Empty(calls["/users/7"].Authorization);
    }

    [Fact]
    public async Task ActiveHealthProbes_CarryTheCredential_AndAfterARotationTheNewOne()
    {
        var yaml = Yaml().Replace("""
                  env: ORDERS_TOKEN
            """, """
                  env: ORDERS_TOKEN
                healthCheck:
                  active: { path: /health, interval: 200ms, timeout: 190ms, healthyThreshold: 1, unhealthyThreshold: 1 }
            """, StringComparison.Ordinal);
        Assert.Contains("healthCheck", yaml, StringComparison.Ordinal);
        await using var gw = await TestGateway.StartAsync(Load(yaml, Secret));
        await Wait.UntilAsync(() => Task.FromResult(_seen.Any(s => s.Path == "/health")), "a health probe");

        Assert.Empty(gw.Host.Runtime.Apply(Load(yaml, "rotated-token")));
        await Wait.UntilAsync(() => Task.FromResult(_seen.Any(s => s.Path == "/health" && s.Authorization is ["Bearer rotated-token"])), "a probe with the rotated credential");

        var probes = _seen.Where(s => s.Path == "/health").Select(s => Assert.Single(s.Authorization)).Distinct().ToList();
        Assert.Equal(["Bearer " + Secret, "Bearer rotated-token"], probes);
    }

    [Fact]
    public async Task AReloadThatOnlyChangesTheCredential_KeepsTheUpstream_AndSendsTheNewValue()
    {
        await using var gw = await TestGateway.StartAsync(Load(Yaml(), Secret));
        (await gw.Client.GetAsync("/orders")).Dispose();
        var before = gw.Host.Runtime.Current.Upstreams["orders"];

        Assert.Empty(gw.Host.Runtime.Apply(Load(Yaml(), "rotated-token")));
        (await gw.Client.GetAsync("/orders")).Dispose();

        Assert.Same(before, gw.Host.Runtime.Current.Upstreams["orders"]);
        Assert.Equal([["Bearer " + Secret], ["Bearer rotated-token"]], _seen.Select(s => s.Authorization));
    }
}
