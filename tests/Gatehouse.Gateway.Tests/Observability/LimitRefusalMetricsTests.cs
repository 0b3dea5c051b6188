using System.Net;
using System.Text;
using Gatehouse.Gateway.Tests.Ai;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Access;
using Microsoft.Extensions.Time.Testing;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>
/// <c>gatehouse_limit_refusals_total</c> counts every call a plan's limit refused, wherever it was decided: a proxied
/// request, a model call over its token or spend limit, and an authorize or authrep of the service API, each read back
/// from a real scrape of <c>/metrics</c>. Serial: the counter is the process's, and other tests refuse calls on plans of
/// the same names.
/// </summary>
[Trait("Issue", "19")]
[Collection(SerialCollection.Name)]
public sealed class LimitRefusalMetricsTests
{
    private const string Metrics = "gateway:\n  observability:\n    metrics: { url: \"http://127.0.0.1:0\" }";

    [Fact]
    public async Task RateLimitAndQuota_RefusingProxiedRequestsAndServiceApiAnswers_AreCountedBySource()
    {
        var key = ApiKeyHash.NewKey();
        var batchKey = ApiKeyHash.NewKey();
        var token = ApiKeyHash.NewKey("ghs_");
        // One minute that never turns: the window cannot reset between the requests.
        var time = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 0, 10, TimeSpan.Zero));
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              serviceApi: { url: "http://127.0.0.1:0", tokenSha256: [ {{ApiKeyHash.Sha256Hex(token)}} ] }
              observability:
                metrics: { url: "http://127.0.0.1:0" }
            services:
              orders:
                targets: [{{backend.Url}}]
                operations:
                  orders.list: { method: GET, path: /orders }
                  orders.export: { method: GET, path: /orders/export }
            routes:
              orders: { operation: orders.list }
              export: { operation: orders.export }
            plans:
              trade:
                include: [ { operation: orders.list } ]
                limits: [ { requests: 2, per: minute } ]
              batch:
                include: [ { operation: orders.export } ]
                limits: [ { requests: 1, per: day } ]
            accounts: { acme: {} }
            applications:
              trader: { account: acme, plan: trade, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(key)}} } ] }
              exporter: { account: acme, plan: batch, keys: [ { sha256: {{ApiKeyHash.Sha256Hex(batchKey)}} } ] }
            """, time: time);
        using var api = new HttpClient { BaseAddress = new Uri(gateway.Host.ServiceApiUrl!) };
        api.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);

        Assert.Equal([200, 200, 429, 429], await ProxyAsync(gateway, "/orders", key, 4));
        Assert.Equal([200, 429], await ProxyAsync(gateway, "/orders/export", batchKey, 2));
        Assert.False(await DecideAsync(api, "/api/authrep", key, "orders.list"));
        Assert.False(await DecideAsync(api, "/api/authorize", key, "orders.list"));
        Assert.False(await DecideAsync(api, "/api/authorize", batchKey, "orders.export"));

        var refusals = await RefusalsAsync(gateway);
        Assert.Equal(new Dictionary<string, double>
        {
            ["trade|minute|rate|proxy"] = 2,
            ["trade|minute|rate|service_api"] = 2,
            ["batch|day|quota|proxy"] = 1,
            ["batch|day|quota|service_api"] = 1,
        }, refusals);
    }

    [Fact]
    public async Task TokenLimit_RefusingAModelCall_IsCountedAsTokens()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, planExtra: "    tokenLimits: [ { tokens: 20, per: minute } ]", gatewayExtra: Metrics);

        using var refused = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        using var again = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"""));
        Assert.Equal(HttpStatusCode.TooManyRequests, again.StatusCode);

        Assert.Equal(new Dictionary<string, double> { ["gold|minute|tokens|proxy"] = 2 }, await RefusalsAsync(kit.Gateway));
        Assert.Empty(kit.Providers[0].Received);
    }

    [Fact]
    public async Task SpendLimit_RefusingAModelCall_IsCountedAsSpend()
    {
        await using var kit = await AiKit.StartAsync(providerCount: 1, planExtra: "    spendLimits: [ { amount: 0.000001, per: day } ]", gatewayExtra: Metrics,
            models: "        fast: [ { provider: p0, model: dear, price: { prompt: 1000, completion: 1000 } } ]\n");

        using var refused = await kit.Gateway.Client.SendAsync(kit.Post("""{"model":"fast","max_tokens":50,"messages":[{"role":"user","content":"hi"}]}"""));

        Assert.Equal(HttpStatusCode.TooManyRequests, refused.StatusCode);
        Assert.Equal(new Dictionary<string, double> { ["gold|day|spend|proxy"] = 1 }, await RefusalsAsync(kit.Gateway));
    }

    private static async Task<List<int>> ProxyAsync(TestGateway gateway, string path, string key, int count)
    {
        var statuses = new List<int>();
        for (var i = 0; i < count; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Add("X-Api-Key", key);
            using var response = await gateway.Client.SendAsync(request);
            statuses.Add((int)response.StatusCode);
        }

        return statuses;
    }

    private static async Task<bool> DecideAsync(HttpClient api, string path, string key, string operation)
    {
        using var response = await api.PostAsync(path, new StringContent($$"""{ "credential": { "apiKey": "{{key}}" }, "operation": "{{operation}}", "method": "GET" }""", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("allowed").GetBoolean();
    }

    // Every refusal series of the scrape, as "plan|period|kind|source".
    private static async Task<Dictionary<string, double>> RefusalsAsync(TestGateway gateway)
    {
        using var client = new HttpClient();
        var samples = await PrometheusParser.ParseAsync(await client.GetStringAsync(gateway.Host.MetricsUrl + "/metrics"));
        return samples.Where(s => s.Name == "gatehouse_limit_refusals_total")
            .ToDictionary(s => $"{s.Labels["gatehouse_plan"]}|{s.Labels["gatehouse_limit_period"]}|{s.Labels["gatehouse_limit_kind"]}|{s.Labels["gatehouse_limit_source"]}", s => s.Value);
    }
}
