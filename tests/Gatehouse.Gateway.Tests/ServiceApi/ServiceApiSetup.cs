using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Access;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.ServiceApi;

/// <summary>
/// A real gateway with plans (retail, wholesale with 3 requests a minute, an anonymous one), applications on each,
/// a pending and a suspended one, a real backend, and the service API on its own port.
/// </summary>
internal sealed class ServiceApiSetup : IAsyncDisposable
{
    private ServiceApiSetup(TestBackend backend, TestGateway gateway, string token, Dictionary<string, string> keys)
    {
        Backend = backend;
        Gateway = gateway;
        Token = token;
        Keys = keys;
        Api = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(gateway.Host.ServiceApiUrl!) };
        Api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
    }

    public TestBackend Backend { get; }

    public TestGateway Gateway { get; }

    /// <summary>The service token (its hash is in the config).</summary>
    public string Token { get; }

    /// <summary>API keys by application id (their hashes are in the config).</summary>
    public Dictionary<string, string> Keys { get; }

    /// <summary>A client of the service API that sends the service token.</summary>
    public HttpClient Api { get; }

    public static readonly string[] Applications = ["shop", "trader", "waiting", "banned"];

    public static async Task<ServiceApiSetup> StartAsync(bool plans = true, Func<string, string>? editYaml = null)
    {
        var backend = await TestBackend.StartAsync(context => context.Response.WriteAsync("ok"));
        var token = ApiKeyHash.NewKey("ghs_");
        var keys = Applications.ToDictionary(a => a, _ => ApiKeyHash.NewKey());
        var yaml = Yaml(backend.Url, ApiKeyHash.Sha256Hex(token), keys, plans);
        var gateway = await TestGateway.StartAsync(editYaml is null ? yaml : editYaml(yaml));
        return new ServiceApiSetup(backend, gateway, token, keys);
    }

    public static string Yaml(string backend, string tokenHash, Dictionary<string, string> keys, bool plans = true)
    {
        string Hash(string app) => ApiKeyHash.Sha256Hex(keys[app]);
        var access = plans ? $$"""
            plans:
              retail:
                include: [ { tag: users, access: read }, { route: legacy, access: read } ]
              wholesale:
                include: [ { tag: orders } ]
                limits: [ { requests: 3, per: minute } ]
              public:
                anonymous: true
                include: [ { operation: products.list, access: read } ]
            accounts:
              acme: {}
            applications:
              shop: { account: acme, plan: retail, keys: [ { sha256: {{Hash("shop")}} } ] }
              trader: { account: acme, plan: wholesale, keys: [ { sha256: {{Hash("trader")}} } ] }
              waiting: { account: acme, plan: wholesale, state: pending, keys: [ { sha256: {{Hash("waiting")}} } ] }
              banned: { account: acme, plan: retail, state: suspended, keys: [ { sha256: {{Hash("banned")}} } ] }
            """ : "";
        return $$"""
            version: 1
            gateway:
              serviceApi: { url: "http://127.0.0.1:0", tokenSha256: [ {{tokenHash}} ] }
            services:
              users:
                targets: [{{backend}}]
                operations:
                  users.getUser: { method: GET, path: "/users/{id}", tags: [users] }
                  users.updateUser: { method: PUT, path: "/users/{id}", tags: [users] }
              orders:
                targets: [{{backend}}]
                operations:
                  orders.listOrders: { method: GET, path: /orders, tags: [orders] }
                  orders.createOrder: { method: POST, path: /orders, tags: [orders] }
              products:
                targets: [{{backend}}]
                operations:
                  products.list: { method: GET, path: /products }
            routes:
              getUser: { operation: users.getUser }
              updateUser: { operation: users.updateUser }
              listOrders: { operation: orders.listOrders }
              createOrder: { operation: orders.createOrder }
              products: { operation: products.list }
              legacy: { path: "/legacy/{**rest}", service: users }
            {{access}}
            """;
    }

    /// <summary>POSTs <paramref name="json"/> to the service API.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, string json) =>
        Api.PostAsync(path, new StringContent(json, Encoding.UTF8, "application/json"));

    /// <summary>An authorize/authrep body; <paramref name="key"/> null means anonymous.</summary>
    public static string Body(string operation, string? key, string? method = null) =>
        JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["credential"] = key is null ? new Dictionary<string, string>() : new Dictionary<string, string> { ["apiKey"] = key },
            ["operation"] = operation,
            ["method"] = method,
            ["client"] = "127.0.0.1",
        });

    public async Task<JsonElement> DecideAsync(string path, string operation, string? key, string? method = null)
    {
        using var response = await PostAsync(path, Body(operation, key, method));
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Api.Dispose();
        await Gateway.DisposeAsync();
        await Backend.DisposeAsync();
    }
}
