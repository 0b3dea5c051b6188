using System.Net;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Tests.Consumers;

/// <summary>
/// One node of a cluster as <c>gatehouse run --store</c> wires it for consumer data: a real gateway, the follower that
/// feeds its directory from the store, and the consumer service the portal and the admin API call.
/// </summary>
internal sealed class ConsumerNode : IAsyncDisposable
{
    /// <summary>A users service with a read and a write operation, and the plans the portal tests use.</summary>
    public static string Yaml(string backendUrl) => $$"""
        version: 1
        gateway:
          listeners: [ { url: "http://127.0.0.1:0" } ]
        services:
          users:
            targets: ["{{backendUrl}}"]
            operations:
              users.getUser: { method: GET, path: "/users/{id}", tags: [users] }
              users.updateUser: { method: PUT, path: "/users/{id}", tags: [users] }
        routes:
          users-get: { operation: users.getUser }
          users-put: { operation: users.updateUser }
        plans:
          retail: { include: [ { tag: users, access: read } ] }
          wholesale: { approvalRequired: true, description: "Read and write <b>users</b>", include: [ { tag: users } ] }
          internal: { hidden: true, include: [ { path: "/**" } ] }
        """;

    private ConsumerNode(IConfigStore store, GatewayHost gateway, ConsumerFollower follower, GatehouseConfig config)
    {
        Store = store;
        Gateway = gateway;
        Follower = follower;
        Service = new ConsumerService(store, follower, _ => Task.FromResult<GatehouseConfig?>(config), TimeProvider.System);
        Client = new HttpClient { BaseAddress = new Uri(gateway.Urls[0]) };
    }

    public IConfigStore Store { get; }

    public GatewayHost Gateway { get; }

    public ConsumerFollower Follower { get; }

    public ConsumerService Service { get; }

    public HttpClient Client { get; }

    public static async Task<ConsumerNode> StartAsync(string connection, string backendUrl, TimeSpan? interval = null)
    {
        var loaded = ConfigLoader.Load(Yaml(backendUrl), Path.GetTempPath());
        Assert.True(loaded.IsValid, string.Join("; ", loaded.Errors));
        var store = await ConfigStores.OpenAsync(connection, TimeProvider.System);
        var gateway = await GatewayHost.StartAsync(new GatewayHostOptions { Config = loaded.Config!, ConfigureLogging = l => l.ClearProviders() });
        var follower = new ConsumerFollower(store, gateway.Runtime.Consumers, interval);
        await follower.StartAsync(CancellationToken.None);
        return new ConsumerNode(store, gateway, follower, loaded.Config!);
    }

    public async Task<HttpStatusCode> CallAsync(string method, string key)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), "/users/7");
        request.Headers.Add("X-Api-Key", key);
        using var response = await Client.SendAsync(request);
        return response.StatusCode;
    }

    public static async Task<WebApplication> StartBackendAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync("user"));
        await app.StartAsync();
        return app;
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Follower.DisposeAsync();
        await Gateway.DisposeAsync();
        await Store.DisposeAsync();
    }
}
