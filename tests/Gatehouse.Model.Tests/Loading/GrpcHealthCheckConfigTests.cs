using Gatehouse.Model.Config;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Loading;

/// <summary><c>healthCheck.active.grpc</c>: gRPC's health check as the probe, on HTTP/2 services only, without HTTP's keys.</summary>
public sealed class GrpcHealthCheckConfigTests
{
    [Fact]
    public void Grpc_Binds_WithTheServiceAskedAbout()
    {
        var result = ConfigText.Load(ConfigText.WithService("targets: [http://127.0.0.1:5001]\nprotocol: http2\nhealthCheck: { active: { grpc: { service: carts } } }"));
        Assert.True(result.IsValid, string.Join("; ", result.Errors));
        Assert.Equal(new GrpcHealthCheckConfig { Service = "carts" }, result.Config!.Services["users"].HealthCheck!.Active!.Grpc);
    }

    [Theory]
    [InlineData("healthCheck: { active: { grpc: {} } }", "services.users.healthCheck.active.grpc", "protocol: http2")]
    [InlineData("protocol: http2\nhealthCheck: { active: { grpc: {}, path: /healthz } }", "services.users.healthCheck.active.path", "'path' is for HTTP probes")]
    [InlineData("protocol: http2\nhealthCheck: { active: { grpc: {}, statuses: [2xx] } }", "services.users.healthCheck.active.statuses", "remove 'grpc'")]
    public void Grpc_Mistakes_SayWhereAndHowToFix(string lines, string path, string expected)
    {
        var error = ConfigText.SingleError(ConfigText.WithService("targets: [http://127.0.0.1:5001]\n" + lines), path);
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
