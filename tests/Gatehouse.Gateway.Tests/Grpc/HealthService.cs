using Gatehouse.Gateway.Tests.Infrastructure;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Gatehouse.Gateway.Tests.Grpc;

/// <summary>
/// A real gRPC server over h2c: ASP.NET Core's gRPC with gRPC's standard health service (grpc.health.v1.Health, unary
/// Check and server-streaming Watch), its service "carts" serving. <see cref="Health"/> changes what it reports.
/// </summary>
internal sealed class HealthService : IAsyncDisposable
{
    private HealthService(TestBackend backend, HealthServiceImpl health)
    {
        Backend = backend;
        Health = health;
    }

    public TestBackend Backend { get; }

    public HealthServiceImpl Health { get; }

    public string Url => Backend.Url;

    public static async Task<HealthService> StartAsync()
    {
        var health = new HealthServiceImpl();
        health.SetStatus("carts", ServingStatus.Serving);
        var backend = await TestBackend.StartAsync(app => app.MapGrpcService<HealthServiceImpl>(), HttpProtocols.Http2, host: builder =>
        {
            builder.Services.AddGrpc();
            builder.Services.AddSingleton(health);
        });
        return new HealthService(backend, health);
    }

    public ValueTask DisposeAsync() => Backend.DisposeAsync();
}
