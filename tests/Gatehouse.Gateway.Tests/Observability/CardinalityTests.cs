using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Access;

namespace Gatehouse.Gateway.Tests.Observability;

/// <summary>The opt-in application label is capped, and says so when it drops labels.</summary>
[Trait("Issue", "19")]
[Collection(SerialCollection.Name)]
public sealed class CardinalityTests
{
    [Fact]
    public async Task ApplicationLabel_PastItsCap_CountsUnderOtherAndCountsTheOverflow()
    {
        var keys = Enumerable.Range(0, 4).Select(_ => ApiKeyHash.NewKey()).ToArray();
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              observability:
                metrics: { url: "http://127.0.0.1:0", applicationLabel: true, maxApplications: 2 }
            services:
              echo: { targets: [{{backend.Url}}] }
            routes:
              capped: { path: "/capped", service: echo }
            plans:
              capped-plan: { include: [ { route: capped } ] }
            accounts: { acme: {} }
            applications:
            {{string.Join("\n", keys.Select((k, i) => $"  capped-{i}: {{ account: acme, plan: capped-plan, keys: [ {{ sha256: {ApiKeyHash.Sha256Hex(k)} }} ] }}"))}}
            """);
        foreach (var (key, times) in keys.Zip([3, 2, 4, 5]))
        {
            for (var i = 0; i < times; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, "/capped");
                request.Headers.Add("X-Api-Key", key);
                using var response = await gateway.Client.SendAsync(request);
                Assert.True(response.IsSuccessStatusCode);
            }
        }

        using var client = new HttpClient();
        var samples = await PrometheusParser.ParseAsync(await client.GetStringAsync(gateway.Host.MetricsUrl + "/metrics"));

        var byApplication = samples.Where(s => s.Name == "gatehouse_application_requests_total" && s.Labels.GetValueOrDefault("gatehouse_plan") == "capped-plan")
            .ToDictionary(s => s.Labels["gatehouse_application"], s => s.Value);
        Assert.Equal(new Dictionary<string, double> { ["capped-0"] = 3, ["capped-1"] = 2, ["_other"] = 9 }, byApplication);
        Assert.True(samples.Single(s => s.Name == "gatehouse_metrics_label_overflow_total").Value >= 9);
    }

    [Fact]
    public void PrometheusNames_FollowTheOpenTelemetryRules()
    {
        Assert.Equal("http_server_request_duration_seconds", Gatehouse.Gateway.Observability.PrometheusText.MetricName("http.server.request.duration", "s", counter: false));
        Assert.Equal("gatehouse_limit_refusals_total", Gatehouse.Gateway.Observability.PrometheusText.MetricName("gatehouse.limit.refusals", "{request}", counter: true));
        Assert.Equal("kestrel_active_connections", Gatehouse.Gateway.Observability.PrometheusText.MetricName("kestrel.active_connections", "{connection}", counter: false));
        Assert.Equal("http_client_request_body_size_bytes", Gatehouse.Gateway.Observability.PrometheusText.MetricName("http.client.request.body.size", "By", counter: false));
        Assert.Equal("_9lives", Gatehouse.Gateway.Observability.PrometheusText.Sanitize("9lives", allowColon: false));
        Assert.Equal("a_b_c", Gatehouse.Gateway.Observability.PrometheusText.Sanitize("a.b-/c", allowColon: false));
    }
}
