using System.Net;
using System.Net.Sockets;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Resilience;

/// <summary>Issue 20: graceful drain in process (the SIGTERM contract with the real executable is in Gatehouse.Tests).</summary>
public sealed class DrainTests
{
    [Fact]
    public async Task Drain_ReadinessTurns503AtOnce_InFlightFinishes_ThenNewConnectionsAreRefused()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestBackend.StartAsync(async context =>
        {
            if (context.Request.Path == "/slow")
            {
                arrived.TrySetResult();
                await release.Task;
            }

            await context.Response.WriteAsync("done");
        });
        var config = TestGateway.Parse($$"""
            version: 1
            gateway:
              listeners: [{ url: "http://127.0.0.1:0" }]
              drainDelay: 300ms
              drainTimeout: 10s
              healthPath: /healthz
            services:
              svc: { targets: [{{backend.Url}}] }
            routes:
              all: { path: "/{**rest}", service: svc }
            """);
        await using var host = await GatewayHost.StartAsync(new GatewayHostOptions { Config = config, HealthUrl = "http://127.0.0.1:0" });
        using var client = new HttpClient { BaseAddress = new Uri(host.Urls[0]) };
        using var health = new HttpClient { BaseAddress = new Uri(host.HealthUrl!) };
        Assert.Equal(HttpStatusCode.OK, (await health.GetAsync("/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);

        var slow = client.GetAsync("/slow");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        host.Drain();
        var drained = host.WaitForShutdownAsync();

        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await health.GetAsync("/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await health.GetAsync("/live")).StatusCode);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await client.GetAsync("/healthz")).StatusCode);

        // After the delay the listener is closed: a new connection is refused.
        var port = new Uri(host.Urls[0]).Port;
        await Wait.UntilAsync(() =>
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                socket.Connect(IPAddress.Loopback, port);
                return false;
            }
            catch (SocketException)
            {
                return true;
            }
        }, "the listener to close");

        release.SetResult();
        using var response = await slow;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("done", await response.Content.ReadAsStringAsync());
        Assert.True(response.Headers.ConnectionClose);
        await drained.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
