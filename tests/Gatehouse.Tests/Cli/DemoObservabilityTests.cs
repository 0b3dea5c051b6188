using System.Net.Http.Headers;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Tests.Infrastructure;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// The issue's contract, on the demo as a user runs it: after some traffic, the admin listener's /metrics is valid Prometheus
/// text with request-duration buckets and no application or key label, and /admin/analytics counts the traffic exactly once
/// it is flushed.
/// </summary>
[Trait("Issue", "19")]
public sealed partial class DemoObservabilityTests
{
    [Fact]
    public async Task Demo_AfterTraffic_MetricsParseAndAnalyticsCountEveryRequest()
    {
        await using var demo = GatehouseProcess.Start("demo", "--port", "0", "--any-service-ports");
        var gateway = await demo.WaitForOutputAsync(GatewayLine(), TimeSpan.FromSeconds(60));
        var token = await demo.WaitForOutputAsync(TokenLine(), TimeSpan.FromSeconds(60));
        var retail = await demo.WaitForOutputAsync(new Regex("^demo key retail: (\\S+)$", RegexOptions.Multiline), TimeSpan.FromSeconds(60));
        var admin = AdminLine().Match(demo.StandardOutput).Groups[1].Value;
        var from = DateTimeOffset.UtcNow.AddMinutes(-1).ToUnixTimeSeconds();
        using var client = new HttpClient { BaseAddress = new Uri(gateway) };
        for (var i = 0; i < 12; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, "/users/1");
            request.Headers.Add("X-Api-Key", retail);
            using var ok = await client.SendAsync(request);
            Assert.Equal(200, (int)ok.StatusCode);
        }

        for (var i = 0; i < 5; i++)
        {
            using var anonymous = await client.GetAsync("/users/1");
            Assert.Equal(401, (int)anonymous.StatusCode);
        }

        // A password reset from the portal: its mail (to the demo's pickup folder) is counted in the portal's metric.
        var portal = await demo.WaitForOutputAsync(PortalLine(), TimeSpan.FromSeconds(60));
        var login = await demo.WaitForOutputAsync(PortalLoginLine(), TimeSpan.FromSeconds(60));
        using (var browser = new HttpClient(new SocketsHttpHandler { CookieContainer = new System.Net.CookieContainer(), UseProxy = false }) { BaseAddress = new Uri(portal) })
        {
            var form = await browser.GetStringAsync("/reset");
            var csrf = Regex.Match(form, "name=\"__RequestVerificationToken\" value=\"([^\"]+)\"").Groups[1].Value;
            using var reset = await browser.PostAsync("/reset", new FormUrlEncodedContent([new("email", login), new("__RequestVerificationToken", csrf)]));
            Assert.Equal(200, (int)reset.StatusCode);
        }

        using var adminClient = new HttpClient { BaseAddress = new Uri(admin) };
        adminClient.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        var samples = await PrometheusParser.ParseAsync(await adminClient.GetStringAsync("/metrics"));
        // The mail is written off the request path: asked for until it is counted, up to 30 s (fifty looks 100 ms apart,
        // about 5 s, was little for a background send on a loaded machine).
        var mailDeadline = DateTime.UtcNow.AddSeconds(30);
        while (!samples.Any(s => s.Name == "gatehouse_portal_mails_total") && DateTime.UtcNow < mailDeadline)
        {
            await Task.Delay(100);
            samples = await PrometheusParser.ParseAsync(await adminClient.GetStringAsync("/metrics"));
        }

        Assert.Contains(samples, s => s.Name == "gatehouse_portal_mails_total" && s.Labels.GetValueOrDefault("outcome") == "sent" && s.Value == 1);
        Assert.Contains(samples, s => s.Name == "http_server_request_duration_seconds_bucket" && s.Labels.GetValueOrDefault("http_route") == "/users/{id}");
        Assert.DoesNotContain(samples, s => s.Labels.Keys.Any(k => k.Contains("application", StringComparison.Ordinal) || k.Contains("key", StringComparison.Ordinal)));

        var to = DateTimeOffset.UtcNow.AddMinutes(1).ToUnixTimeSeconds();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        Dictionary<string, long> series;
        do
        {
            await Task.Delay(500); // the demo flushes every 5 s (gateway.observability.usage.flushInterval)
            var result = JsonNode.Parse(await adminClient.GetStringAsync($"/admin/analytics?from={from}&to={to}&granularity=minute&groupBy=application,statusClass"))!;
            series = result["series"]!.AsArray().ToDictionary(s => $"{s!["group"]!["application"]}|{s["group"]!["statusClass"]}", s => (long)s!["total"]!["count"]!);
        }
        while (series.Values.Sum() < 17 && DateTime.UtcNow < deadline);

        Assert.Equal(new Dictionary<string, long> { ["demo-retail|2xx"] = 12, ["|4xx"] = 5 }, series);
    }

    [GeneratedRegex(@"gateway\s+(http://\S+)")]
    private static partial Regex GatewayLine();

    [GeneratedRegex(@"admin API (http://\S+)")]
    private static partial Regex AdminLine();

    [GeneratedRegex(@"^demo admin token: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex TokenLine();

    [GeneratedRegex(@"^demo portal: (http://\S+)$", RegexOptions.Multiline)]
    private static partial Regex PortalLine();

    [GeneratedRegex(@"^demo portal login: (\S+) \S+$", RegexOptions.Multiline)]
    private static partial Regex PortalLoginLine();
}
