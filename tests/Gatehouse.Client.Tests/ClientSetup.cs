using System.Text.Json;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Model.Access;
using Gatehouse.Model.Loading;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Client.Tests;

/// <summary>
/// A real gateway (its service API on 127.0.0.1:0) with plans retail (users, no limits) and wholesale (orders,
/// 3 a minute), and a real service on 127.0.0.1:0 that uses the middleware and echoes its <see cref="IGatehouseFeature"/>.
/// </summary>
internal sealed class ClientSetup : IAsyncDisposable
{
    private readonly GatewayHost? _gateway;
    private readonly WebApplication _service;

    private readonly string _token;
    private bool _serviceStopped;

    private ClientSetup(GatewayHost? gateway, WebApplication service, CountingHandler calls, Dictionary<string, string> keys, string token)
    {
        _gateway = gateway;
        _service = service;
        _token = token;
        Calls = calls;
        Keys = keys;
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { BaseAddress = new Uri(service.Urls.First()) };
    }

    /// <summary>Counts the middleware's calls to the service API, by path.</summary>
    public CountingHandler Calls { get; }

    public Dictionary<string, string> Keys { get; }

    /// <summary>A client of the service that uses the middleware.</summary>
    public HttpClient Client { get; }

    /// <param name="apiUrl">Where the middleware looks for the service API; default the started gateway's.</param>
    public static async Task<ClientSetup> StartAsync(TimeSpan cacheDuration, string? apiUrl = null, bool failOpen = false)
    {
        var token = ApiKeyHash.NewKey("ghs_");
        var keys = new Dictionary<string, string> { ["shop"] = ApiKeyHash.NewKey(), ["trader"] = ApiKeyHash.NewKey() };
        GatewayHost? gateway = null;
        if (apiUrl is null)
        {
            var loaded = ConfigLoader.Load(Yaml(ApiKeyHash.Sha256Hex(token), keys), Path.GetTempPath());
            Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
            gateway = await GatewayHost.StartAsync(new GatewayHostOptions
            {
                Config = loaded.Config!,
                MinimumLogLevel = LogLevel.Warning,
            });
            apiUrl = gateway.ServiceApiUrl;
        }

        var calls = new CountingHandler();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0));
        var service = builder.Build();
        service.UseGatehouseAuthorization(o =>
        {
            o.ServiceApiUrl = new Uri(apiUrl!);
            o.ServiceToken = token;
            o.OperationResolver = context => context.Request.Path.StartsWithSegments("/health") ? null
                : context.Request.Path.StartsWithSegments("/orders") ? "orders.listOrders"
                : context.Request.Path.StartsWithSegments("/secrets") ? "users.getSecret" : "users.getUser";
            o.CacheDuration = cacheDuration;
            o.ReportInterval = TimeSpan.FromHours(1);
            o.FailOpen = failOpen;
            o.HttpHandler = calls;
        });
        service.Run(context =>
        {
            var feature = context.Features.Get<IGatehouseFeature>();
            return context.Response.WriteAsync($"{feature?.Operation}|{feature?.Application}|{feature?.Plan}");
        });
        await service.StartAsync();
        return new ClientSetup(gateway, service, calls, keys, token);
    }

    public static string Yaml(string tokenHash, Dictionary<string, string> keys) => $$"""
        version: 1
        gateway:
          listeners: [ { url: "http://127.0.0.1:0" } ]
          serviceApi: { url: "http://127.0.0.1:0", tokenSha256: [ {{tokenHash}} ] }
          # A bearer token source for the scoped operation; never asked here (API keys only, or no credential).
          introspection: { url: "http://127.0.0.1:9/introspect", audience: shop }
        services:
          users:
            targets: [http://127.0.0.1:9]
            operations:
              users.getUser: { method: GET, path: "/users/{id}", tags: [users] }
              users.getSecret: { method: GET, path: "/secrets/{id}", tags: [users], requireScopes: [secrets:read, users:read] }
          orders:
            targets: [http://127.0.0.1:9]
            operations:
              orders.listOrders: { method: GET, path: /orders, tags: [orders] }
        routes:
          getUser: { operation: users.getUser }
          getSecret: { operation: users.getSecret }
          listOrders: { operation: orders.listOrders }
        plans:
          retail: { include: [ { tag: users, access: read } ] }
          wholesale:
            include: [ { tag: orders } ]
            limits: [ { requests: 3, per: minute } ]
        accounts: { acme: {} }
        applications:
          shop: { account: acme, plan: retail, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(keys["shop"])}} } ] }
          trader: { account: acme, plan: wholesale, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(keys["trader"])}} } ] }
        """;

    public async Task<HttpResponseMessage> GetAsync(string path, string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.Add("X-Api-Key", key);
        }

        return await Client.SendAsync(request);
    }

    /// <summary>Stops the service (its middleware then sends what it holds), leaving the gateway running.</summary>
    public async Task StopServiceAsync()
    {
        if (!_serviceStopped)
        {
            _serviceStopped = true;
            await _service.StopAsync();
        }
    }

    /// <summary>What the gateway's <c>/api/authorize</c> says of a key and operation now (decides, counts nothing).</summary>
    public async Task<JsonElement> AuthorizeAsync(string key, string operation)
    {
        using var api = new HttpClient { BaseAddress = new Uri(_gateway!.ServiceApiUrl!) };
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", _token);
        var body = $$"""{"credential":{"apiKey":"{{key}}"},"operation":"{{operation}}"}""";
        using var response = await api.PostAsync("/api/authorize", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        response.EnsureSuccessStatusCode();
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await StopServiceAsync();
        await _service.DisposeAsync();
        if (_gateway is not null)
        {
            await _gateway.DisposeAsync();
        }
    }
}

/// <summary>Passes requests on and counts them by path.</summary>
internal sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler { UseProxy = false })
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _counts = new();

    public int this[string path] => _counts.GetValueOrDefault(path);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        _counts.AddOrUpdate(request.RequestUri!.AbsolutePath, 1, (_, n) => n + 1);
        return base.SendAsync(request, cancellationToken);
    }
}
