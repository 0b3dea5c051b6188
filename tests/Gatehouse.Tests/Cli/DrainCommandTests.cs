using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Gatehouse.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Tests.Cli;

/// <summary>
/// Issue 20's contract, with the real executable: <c>gatehouse run --config</c> answers /ready and /live on its admin
/// listener; on SIGTERM a request in flight to a slow upstream (3 s) still gets its 200, new connections after the
/// drain delay are refused, and the process exits 0 within drainTimeout.
/// </summary>
public sealed class DrainCommandTests : IAsyncLifetime
{
    private static readonly Regex Listening = new(@"listening on (http://\S+) .*/ready and /live on (http://[^\s)]+)\)");
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "gatehouse-drain-" + Guid.NewGuid().ToString("N"));
    private WebApplication? _backend;
    private int _slowArrived;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_folder);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        _backend = builder.Build();
        _backend.Run(async context =>
        {
            if (context.Request.Path == "/slow")
            {
                Interlocked.Increment(ref _slowArrived);
                await Task.Delay(TimeSpan.FromSeconds(3));
            }

            await context.Response.WriteAsync("done");
        });
        await _backend.StartAsync();
    }

    [Fact]
    public async Task Sigterm_InFlightSlowRequestGets200_NewConnectionsAreRefused_AndTheProcessExits0WithinDrainTimeout()
    {
        var config = Path.Combine(_folder, "gatehouse.yaml");
        await File.WriteAllTextAsync(config, $$"""
            version: 1
            gateway:
              listeners: [{ url: "http://127.0.0.1:0" }]
              drainDelay: 1s
              drainTimeout: 8s
            services:
              svc: { targets: ["{{_backend!.Urls.First()}}"] }
            routes:
              all: { path: "/{**rest}", service: svc }
            """);
        await using var gatehouse = GatehouseProcess.Start("run", "--config", config, "--admin-url", "http://127.0.0.1:0");
        await gatehouse.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
        var match = Listening.Match(gatehouse.StandardOutput);
        var gatewayUrl = match.Groups[1].Value;
        using var client = new HttpClient { BaseAddress = new Uri(gatewayUrl), Timeout = TimeSpan.FromSeconds(30) };
        using var admin = new HttpClient { BaseAddress = new Uri(match.Groups[2].Value), Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/ready")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/live")).StatusCode);

        var slow = client.GetAsync("/slow");
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (Volatile.Read(ref _slowArrived) == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }

        Assert.Equal(1, Volatile.Read(ref _slowArrived));
        var signalled = Stopwatch.StartNew();
        gatehouse.Signal(15);

        // Readiness turns at once; the drain delay (1 s) leaves time to see it.
        HttpStatusCode ready;
        do
        {
            ready = (await admin.GetAsync("/ready")).StatusCode;
        }
        while (ready == HttpStatusCode.OK && signalled.Elapsed < TimeSpan.FromSeconds(5));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready);

        // After the delay, the listener closes: new connections are refused.
        var port = new Uri(gatewayUrl).Port;
        var refused = false;
        while (!refused && signalled.Elapsed < TimeSpan.FromSeconds(8))
        {
            using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                await socket.ConnectAsync(IPAddress.Loopback, port);
                await Task.Delay(20);
            }
            catch (SocketException)
            {
                refused = true;
            }
        }

        Assert.True(refused, "the listener was still accepting connections 8 s after SIGTERM");
        Assert.True(signalled.Elapsed >= TimeSpan.FromSeconds(0.9), $"the listener closed {signalled.Elapsed} after SIGTERM, before the 1 s drain delay");

        using var response = await slow;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("done", await response.Content.ReadAsStringAsync());

        var exitCode = await gatehouse.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(0, exitCode);
        Assert.True(signalled.Elapsed < TimeSpan.FromSeconds(8), $"exited {signalled.Elapsed} after SIGTERM; drainTimeout is 8 s");
    }

    public async Task DisposeAsync()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }

        Directory.Delete(_folder, recursive: true);
    }
}

/// <summary>Issue 20: <c>POST /admin/drain</c> on a node run with a store.</summary>
public sealed class AdminDrainCommandTests
{
    private static readonly Regex Listening = new(@"listening on (http://\S+) \(store revision (\d+)\); admin API on (http://[^\s]+)\. ");

    [Fact]
    public async Task PostAdminDrain_ReadinessTurns503_AndTheProcessExits0()
    {
        var folder = Path.Combine(Path.GetTempPath(), "gatehouse-admin-drain-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(folder);
        try
        {
            const string token = "drain-test-admin-token-0123456789";
            await using var run = GatehouseProcess.Start(new Dictionary<string, string> { ["GATEHOUSE_ADMIN_TOKEN"] = token },
                "run", "--store", "sqlite:" + Path.Combine(folder, "gatehouse.db"), "--port", "0", "--admin-url", "http://127.0.0.1:0");
            await run.WaitForOutputAsync(Listening, TimeSpan.FromSeconds(60));
            using var admin = new HttpClient { BaseAddress = new Uri(Listening.Match(run.StandardOutput).Groups[3].Value), Timeout = TimeSpan.FromSeconds(30) };
            Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/ready")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await admin.PostAsync("/admin/drain", null)).StatusCode);

            using var drain = new HttpRequestMessage(HttpMethod.Post, "/admin/drain") { Headers = { { "Authorization", "Bearer " + token } } };
            Assert.Equal(HttpStatusCode.Accepted, (await admin.SendAsync(drain)).StatusCode);

            Assert.Equal(0, await run.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
