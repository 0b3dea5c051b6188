using System.Net;
using System.Text;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Gateway.Tests.Policies;
using Gatehouse.Model.Loading;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Forwarding;

/// <summary>
/// A route's <c>mirror</c>: the mirror service gets a copy of each request (method, target, headers, body, its own
/// credential, <c>Gatehouse-Mirror</c>), the client gets the route's service's answer and never waits for the copy,
/// copies past <c>maxConcurrent</c> are dropped, and a body the gateway cannot keep whole is not copied.
/// </summary>
public sealed class RequestMirrorTests
{
    private static string Yaml(string primary, string shadow, string mirror) => $$"""
        version: 1
        services:
          orders:
            targets: [{{primary}}]
            credential: { header: X-Service-Token, env: ORDERS_TOKEN }
          orders-v2:
            targets: [{{shadow}}]
            credential: { header: X-Service-Token, env: ORDERS_V2_TOKEN }
        routes:
          orders: { path: "/orders/{**rest}", service: orders, mirror: {{mirror}} }
        """;

    private static async Task<TestGateway> StartAsync(string yaml, Func<Gatehouse.Gateway.Hosting.GatewayHostOptions, Gatehouse.Gateway.Hosting.GatewayHostOptions>? options = null)
    {
        var loaded = ConfigLoader.Load(yaml, Path.GetTempPath(), name => name switch { "ORDERS_TOKEN" => "primary-secret", "ORDERS_V2_TOKEN" => "shadow-secret", _ => null });
        Assert.True(loaded.IsValid, string.Join("\n", loaded.Errors));
        return await TestGateway.StartAsync(loaded.Config!, options: options);
    }

    [Fact]
    public async Task TheMirrorGetsACopy_WithItsOwnCredential_AndTheClientTheRouteServicesAnswer()
    {
        await using var primary = await RecordingBackend.StartAsync((c, _) => c.Response.WriteAsync("primary"));
        await using var shadow = await RecordingBackend.StartAsync((c, _) => c.Response.WriteAsync("shadow"));
        await using var gateway = await StartAsync(Yaml(primary.Url, shadow.Url, "{ service: orders-v2 }"));

        using var post = new StringContent("{\"item\":42}", Encoding.UTF8, "application/json");
        var posted = await gateway.Client.PostAsync("/orders/new?dry=1", post);
        var got = await gateway.Client.GetAsync("/orders/7");

        Assert.Equal("primary", await posted.Content.ReadAsStringAsync());
        Assert.Equal("primary", await got.Content.ReadAsStringAsync());
        await Wait.UntilAsync(() => shadow.Count == 2, "both copies at the mirror service");
        var seen = primary.Seen.ToArray();
        var copies = shadow.Seen.ToArray();
        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(seen[i].Method, copies[i].Method);
            Assert.Equal(seen[i].Target, copies[i].Target);
            Assert.Equal(seen[i].Body, copies[i].Body);
            Assert.Equal(seen[i].Headers["X-Request-Id"], copies[i].Headers["X-Request-Id"]);
            Assert.Equal("primary-secret", seen[i].Headers["X-Service-Token"]);
            Assert.Equal("shadow-secret", copies[i].Headers["X-Service-Token"]);
            Assert.Equal("orders", copies[i].Headers["Gatehouse-Mirror"]);
            Assert.False(seen[i].Headers.ContainsKey("Gatehouse-Mirror"));
        }

        Assert.Equal("{\"item\":42}", copies[0].Body);
        Assert.Equal("/orders/new?dry=1", copies[0].Target);
    }

    [Fact]
    public async Task ASlowOrFailingMirror_NeverHoldsOrChangesTheClientsAnswer_AndCopiesPastMaxConcurrentAreDropped()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var primary = await RecordingBackend.StartAsync((c, _) => c.Response.WriteAsync("primary"));
        await using var shadow = await RecordingBackend.StartAsync(async (c, _) =>
        {
            await release.Task.WaitAsync(TimeSpan.FromSeconds(30));
            c.Response.StatusCode = 500;
        });
        await using var gateway = await StartAsync(Yaml(primary.Url, shadow.Url, "{ service: orders-v2, maxConcurrent: 2 }"), o => o with { MetricsOnAdmin = true });

        for (var i = 0; i < 5; i++)
        {
            var response = await gateway.Client.GetAsync($"/orders/{i}").WaitAsync(TimeSpan.FromSeconds(10));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("primary", await response.Content.ReadAsStringAsync());
        }

        await Wait.UntilAsync(() => shadow.Count == 2, "two copies in flight");
        Assert.Matches(@"gatehouse_mirror_requests_total\{[^}]*outcome=""dropped""[^}]*\} 3\b", gateway.Host.Metrics!.Scrape());
        release.SetResult();
        await Wait.UntilAsync(() => System.Text.RegularExpressions.Regex.IsMatch(gateway.Host.Metrics!.Scrape(), @"gatehouse_mirror_requests_total\{[^}]*outcome=""sent""[^}]*\} 2\b"),
            "the two copies answered");

        // The slots are free again: the next request is copied.
        Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync("/orders/9")).StatusCode);
        await Wait.UntilAsync(() => shadow.Count == 3, "a third copy");
        Assert.Equal(6, primary.Count);
    }

    /// <summary>
    /// The mirror service's failures count in its own passive health: once its only target is ejected, copies are
    /// skipped (no destination), and the route's service, which never failed, serves every request.
    /// </summary>
    [Fact]
    public async Task TheMirrorServicesFailures_EjectItsTarget_AndThenCopiesAreSkipped()
    {
        await using var primary = await RecordingBackend.StartAsync((c, _) => c.Response.WriteAsync("primary"));
        await using var shadow = await RecordingBackend.StartAsync((c, _) =>
        {
            c.Response.StatusCode = 503;
            return Task.CompletedTask;
        });
        var yaml = Yaml(primary.Url, shadow.Url, "{ service: orders-v2 }").Replace(
            "credential: { header: X-Service-Token, env: ORDERS_V2_TOKEN }",
            "credential: { header: X-Service-Token, env: ORDERS_V2_TOKEN }\n    healthCheck: { passive: { consecutiveFailures: 2, cooldown: 1h } }", StringComparison.Ordinal);
        await using var gateway = await StartAsync(yaml, o => o with { MetricsOnAdmin = true });

        for (var i = 0; i < 2; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await gateway.Client.GetAsync($"/orders/{i}")).StatusCode);
            await Wait.UntilAsync(() => shadow.Count == i + 1, $"copy {i + 1}");
        }

        await Wait.UntilAsync(() => gateway.Host.Runtime.Current.Upstreams["orders-v2"].Destinations.Single().IsEjected(TimeProvider.System.GetTimestamp()),
            "the mirror's target to be ejected");
        for (var i = 2; i < 6; i++)
        {
            Assert.Equal("primary", await (await gateway.Client.GetAsync($"/orders/{i}")).Content.ReadAsStringAsync());
        }

        Assert.Equal(2, shadow.Count);
        Assert.Matches(@"gatehouse_mirror_requests_total\{[^}]*outcome=""skipped""[^}]*reason=""destination""[^}]*\} 4\b", gateway.Host.Metrics!.Scrape());
    }

    [Fact]
    public async Task ABodyOverMaxBodySize_OrChunked_IsNotCopied_AndStillReachesTheRouteService()
    {
        await using var primary = await RecordingBackend.StartAsync((c, _) => c.Response.WriteAsync("primary"));
        await using var shadow = await RecordingBackend.StartAsync((c, _) => c.Response.WriteAsync("shadow"));
        await using var gateway = await StartAsync(Yaml(primary.Url, shadow.Url, "{ service: orders-v2, maxBodySize: 100 }"), o => o with { MetricsOnAdmin = true });
        var large = new string('x', 500);

        var big = await gateway.Client.PostAsync("/orders/a", new StringContent(large));
        var chunked = await RawClient.SendAsync(gateway.Port, "POST /orders/b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n");
        var small = await gateway.Client.PostAsync("/orders/c", new StringContent("small"));

        Assert.Equal(HttpStatusCode.OK, big.StatusCode);
        Assert.Equal(200, chunked.StatusCode);
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal([large, "hello", "small"], primary.Seen.Select(s => s.Body));
        await Wait.UntilAsync(() => shadow.Count == 1, "the small body's copy");
        Assert.Equal("small", Assert.Single(shadow.Seen).Body);
        Assert.Matches(@"gatehouse_mirror_requests_total\{[^}]*outcome=""skipped""[^}]*reason=""body""[^}]*\} 2\b", gateway.Host.Metrics!.Scrape());
    }

    [Fact]
    public async Task APercent_CopiesAboutThatShare_AndZeroNone()
    {
        await using var primary = await RecordingBackend.StartAsync((c, _) => c.Response.WriteAsync("primary"));
        await using var shadow = await RecordingBackend.StartAsync((c, _) => c.Response.WriteAsync("shadow"));
        await using var half = await StartAsync(Yaml(primary.Url, shadow.Url, "{ service: orders-v2, percent: 50 }"));
        await using var none = await StartAsync(Yaml(primary.Url, shadow.Url, "{ service: orders-v2, percent: 0 }"));

        for (var i = 0; i < 200; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await half.Client.GetAsync($"/orders/{i}")).StatusCode);
        }

        await Wait.UntilAsync(() => shadow.Count >= 60, "about half the requests copied");
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal(HttpStatusCode.OK, (await none.Client.GetAsync($"/orders/none{i}")).StatusCode);
        }

        await Task.Delay(300); // copies in flight land
        Assert.InRange(shadow.Count, 60, 140); // 200 at 50%: more than five standard deviations either side
        Assert.DoesNotContain(shadow.Seen, s => s.Target.StartsWith("/orders/none", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("{ service: nope }", "routes.orders.mirror.service")]
    [InlineData("{ service: orders }", "routes.orders.mirror.service")]
    [InlineData("{ service: orders-v2, percent: 101 }", "routes.orders.mirror.percent")]
    [InlineData("{ service: orders-v2, maxConcurrent: 0 }", "routes.orders.mirror.maxConcurrent")]
    public void ABadMirror_IsRefusedWithItsPath(string mirror, string path)
    {
        var loaded = ConfigLoader.Load(Yaml("http://127.0.0.1:1", "http://127.0.0.1:2", mirror), Path.GetTempPath(), _ => "x");

        Assert.Contains(loaded.Errors, e => e.Path == path);
    }
}
