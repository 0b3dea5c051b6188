using System.Diagnostics;
using System.Net;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Management.Tests.Admin;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Gatehouse.Management.Tests.ZeroDowntime;

/// <summary>
/// Issue #5, zero downtime: a real gateway (GatewayHost) in front of a real Kestrel backend, changed through the real
/// admin API on a SQLite store. Applies must not fail a request, and old revisions must be collectable. Timing is
/// printed, not asserted; bench/Gatehouse.Bench.Applies measures it (docs/benchmarks.md).
/// </summary>
[Collection(ZeroDowntimeCollection.Name)]
public sealed class ZeroDowntimeTests(ITestOutputHelper output)
{
    private const string Body = "ok";

    [Fact]
    public async Task FiftyApplies_UnderLoad_NoRequestFails()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartGatewayAsync();
        await using var admin = await AdminHarness.StartAsync(apply: gateway.Runtime.Apply);
        await admin.PutOkAsync("/admin/services/backend", Service(backend, 30));
        await admin.PutOkAsync("/admin/routes/load", Route(0));

        await using var load = LoadLoop.Start(new Uri(gateway.Urls[0] + "/load/x"), Body, concurrency: 4, maxRequests: 200_000, maxTime: TimeSpan.FromSeconds(40));
        // A window without applies, then the same load while 50 revisions go live.
        await Task.Delay(TimeSpan.FromSeconds(2));
        load.SetPhase(1);
        var applying = Stopwatch.StartNew();
        for (var i = 1; i <= 50; i++)
        {
            var put = (i % 10) switch
            {
                // A changed service retires its upstream: in-flight requests drain, new ones use the new one.
                0 => admin.PutOkAsync("/admin/services/backend", Service(backend, 30 + i)),
                var odd when odd % 2 == 1 => admin.PutOkAsync($"/admin/routes/extra-{i}", $$"""{"path":"/extra/{{i}}/{**rest}","service":"backend"}"""),
                _ => admin.PutOkAsync("/admin/routes/load", Route(i)),
            };
            Assert.True((bool)(await put)["applied"]!);
            // Paced a little, so that requests run between the applies too, not only while one compiles.
            await Task.Delay(20);
        }

        applying.Stop();
        await load.StopAsync();

        output.WriteLine($"requests without applies: {load.Count(0)}, p50 {load.Percentile(0, 50):F2} ms, p99 {load.Percentile(0, 99):F2} ms");
        output.WriteLine($"requests during 50 applies ({applying.ElapsedMilliseconds} ms): {load.Count(1)}, p50 {load.Percentile(1, 50):F2} ms, p99 {load.Percentile(1, 99):F2} ms");
        Assert.Empty(load.Failures);
        Assert.True(load.Count(0) > 0 && load.Count(1) > 0, "the load ran in both phases");
        Assert.Equal(2 + 50, await admin.Store.CurrentRevisionAsync()); // the service, the first route, 50 applies
    }

    [Fact]
    public async Task ThousandApplies_ThroughTheAdminApi_OldRevisionsAreCollected()
    {
        await using var backend = await StartBackendAsync();
        await using var gateway = await StartGatewayAsync();
        await using var admin = await AdminHarness.StartAsync(apply: gateway.Runtime.Apply);
        using var client = new HttpClient { BaseAddress = new Uri(gateway.Urls[0]) };

        // Warm-up: every code path (route change, service change = upstream retired, a request served) has run.
        await admin.PutOkAsync("/admin/services/backend", Service(backend, 30));
        for (var i = 0; i < 40; i++)
        {
            await ApplyAsync(admin, backend, i);
        }

        await ServeAsync(client);
        var small = await SettledMemoryAsync();

        // A config big enough that keeping old revisions alive would show: what one revision holds, times 1,000, must be
        // far above the 20 MB allowed, or this test could not fail.
        using (var big = await admin.Client.PostAsync("/admin/config", new StringContent(BigConfig(backend), System.Text.Encoding.UTF8, "application/json")))
        {
            Assert.Equal(HttpStatusCode.OK, big.StatusCode);
        }

        await ServeAsync(client);
        var before = await SettledMemoryAsync();
        output.WriteLine($"one revision of {ExtraRoutes} routes holds ~{(before - small) / 1e3:F0} KB");
        Assert.True((before - small) * 1000 > 100_000_000, $"a revision holds only {(before - small) / 1e3:F0} KB; make the config bigger so that a leak would show");

        var timer = Stopwatch.StartNew();
        for (var i = 40; i < 1040; i++)
        {
            await ApplyAsync(admin, backend, i);
        }

        timer.Stop();
        await ServeAsync(client);
        // The harness keeps every config handed to the gateway; drop that list so only the runtime's references count.
        lock (admin.Applied)
        {
            admin.Applied.Clear();
        }

        var after = await SettledMemoryAsync();
        output.WriteLine($"1,000 applies through the admin API in {timer.Elapsed.TotalSeconds:F1} s; managed memory {before / 1e6:F1} MB before, {after / 1e6:F1} MB after");
        Assert.True(after - before < 20_000_000, $"managed memory grew by {(after - before) / 1e6:F1} MB over 1,000 applies (limit 20 MB): old revisions are kept alive");
    }

    private static async Task ApplyAsync(AdminHarness admin, WebApplication backend, int i)
    {
        var put = i % 10 == 9
            ? await admin.PutOkAsync("/admin/services/backend", Service(backend, 30 + (i % 20)))
            : await admin.PutOkAsync("/admin/routes/load", Route(i));
        Assert.True((bool)put["applied"]!);
    }

    private const int ExtraRoutes = 500;

    private static string BigConfig(WebApplication backend)
    {
        var routes = new System.Text.StringBuilder();
        for (var i = 0; i < ExtraRoutes; i++)
        {
            routes.Append("\"r").Append(i).Append("\":{\"path\":\"/r").Append(i).Append("/{id}/items/{**rest}\",\"service\":\"backend\"},");
        }

        return "{\"version\":1,\"services\":{\"backend\":" + Service(backend, 30) + "},\"routes\":{" + routes + "\"load\":" + Route(0) + "}}";
    }

    private static async Task ServeAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/load/x");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    // The managed heap once it stops moving: other work in this process (the collection before, a host still letting go
    // of its connections) frees memory for a while after it ends, and a reading taken meanwhile can make one revision look
    // like less than nothing (a CI run read -470 KB). Read until two readings 100 ms apart are within 64 KB.
    private static async Task<long> SettledMemoryAsync()
    {
        var last = ManagedMemory();
        for (var i = 0; i < 30; i++)
        {
            await Task.Delay(100);
            var now = ManagedMemory();
            if (Math.Abs(now - last) < 64 * 1024)
            {
                return now;
            }

            last = now;
        }

        return last;
    }

    private static long ManagedMemory()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }

        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static string Service(WebApplication backend, int timeoutSeconds) =>
        $$"""{"targets":["{{backend.Urls.First()}}"],"timeout":"{{timeoutSeconds}}s"}""";

    // Each i gives a different route (timeout, and methods alternating) that keeps matching what the load sends.
    private static string Route(int i) =>
        i % 2 == 0
            ? $$"""{"path":"/load/{**rest}","service":"backend","timeout":"{{10 + i}}s"}"""
            : $$"""{"methods":["GET","HEAD"],"path":"/load/{**rest}","service":"backend","timeout":"{{10 + i}}s"}""";

    private static async Task<WebApplication> StartBackendAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        var app = builder.Build();
        app.Run(context => context.Response.WriteAsync(Body));
        await app.StartAsync();
        return app;
    }

    private static Task<GatewayHost> StartGatewayAsync() => GatewayHost.StartAsync(new GatewayHostOptions
    {
        Config = new GatehouseConfig { Gateway = new GatewayConfig { Listeners = [new ListenerConfig { Url = "http://127.0.0.1:0" }] } },
        ConfigureLogging = logging => logging.ClearProviders(),
    });
}
