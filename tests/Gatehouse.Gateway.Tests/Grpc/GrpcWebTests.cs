using Gatehouse.Gateway.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Grpc.Net.Client;
using Grpc.Net.Client.Web;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Gatehouse.Gateway.Tests.Grpc;

/// <summary>
/// The <c>grpcWeb</c> policy with the official gRPC-Web client (Grpc.Net.Client.Web, as a browser speaks it: HTTP/1.1,
/// binary and base64 text) to a plain gRPC service over HTTP/2 that knows nothing of gRPC-Web.
/// </summary>
public sealed class GrpcWebTests : IAsyncLifetime
{
    private HealthService? _service;

    private HealthServiceImpl Health => _service!.Health;

    private TestBackend? Backend => _service?.Backend;

    public async Task InitializeAsync() => _service = await HealthService.StartAsync();

    public async Task DisposeAsync() => await _service!.DisposeAsync();

    private string Yaml(string grpcWeb = "grpcWeb: {}") => $$"""
        version: 1
        services:
          health:
            targets: [{{Backend!.Url}}]
            protocol: http2
        routes:
          health:
            path: "/grpc.health.v1.Health/{method}"
            methods: [POST]
            service: health
            policies: { {{grpcWeb}} }
        """;

    private static GrpcChannel WebChannel(TestGateway gateway, GrpcWebMode mode) => GrpcChannel.ForAddress(gateway.Url, new GrpcChannelOptions
    {
        HttpHandler = new GrpcWebHandler(mode, new HttpClientHandler()),
        HttpVersion = System.Net.HttpVersion.Version11,
        HttpVersionPolicy = HttpVersionPolicy.RequestVersionExact,
    });

    [Theory]
    [InlineData(GrpcWebMode.GrpcWeb)]
    [InlineData(GrpcWebMode.GrpcWebText)]
    public async Task AGrpcWebClient_CallsAPlainGrpcService_UnaryAndStreamed_WithItsStatus(GrpcWebMode mode)
    {
        await using var gateway = await TestGateway.StartAsync(Yaml());
        using var channel = WebChannel(gateway, mode);
        var client = new global::Grpc.Health.V1.Health.HealthClient(channel);

        var check = await client.CheckAsync(new HealthCheckRequest { Service = "carts" });
        Assert.Equal(ServingStatus.Serving, check.Status);

        // The service's own error status reaches the client, from the trailer frame the gateway wrote.
        var unknown = await Assert.ThrowsAsync<RpcException>(() => client.CheckAsync(new HealthCheckRequest { Service = "nope" }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode);

        // A server stream arrives message by message.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = client.Watch(new HealthCheckRequest { Service = "carts" }, cancellationToken: cancel.Token);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
        Health.SetStatus("carts", ServingStatus.NotServing);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
        Health.SetStatus("carts", ServingStatus.Serving);
    }

    [Theory]
    [InlineData(GrpcWebMode.GrpcWeb)]
    [InlineData(GrpcWebMode.GrpcWebText)]
    public async Task TheGatewaysOwnRefusal_ReachesAGrpcWebClient_AsAStatusWithTheReason(GrpcWebMode mode)
    {
        var key = Access.TestKey.New();
        await using var gateway = await TestGateway.StartAsync(Yaml() + "\nplans:\n  retail: { include: [ { route: health } ] }\naccounts: { acme: {} }\napplications:\n"
            + Access.AccessKit.Application("shop", "retail", key));
        using var channel = WebChannel(gateway, mode);
        var client = new global::Grpc.Health.V1.Health.HealthClient(channel);

        var refused = await Assert.ThrowsAsync<RpcException>(() => client.CheckAsync(new HealthCheckRequest { Service = "carts" }).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
        Assert.Contains("API key", refused.Status.Detail, StringComparison.OrdinalIgnoreCase);
        var check = await client.CheckAsync(new HealthCheckRequest { Service = "carts" }, new Metadata { { "x-api-key", key.Plaintext } });
        Assert.Equal(ServingStatus.Serving, check.Status);
    }

    [Fact]
    public async Task WithCors_ABrowsersPreflight_AllowsWhatGrpcWebClientsSend_AndTheStatusIsReadable()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml("grpcWeb: {}, cors: { origins: [ \"https://app.example\" ] }"));
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/grpc.health.v1.Health/Check");
        preflight.Headers.Add("Origin", "https://app.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "content-type,x-grpc-web,x-user-agent,grpc-timeout");

        using var answer = await gateway.Client.SendAsync(preflight);

        Assert.True(answer.IsSuccessStatusCode, $"{(int)answer.StatusCode}");
        var allowed = string.Join(",", answer.Headers.GetValues("Access-Control-Allow-Headers")).ToLowerInvariant();
        foreach (var header in new[] { "content-type", "x-grpc-web", "x-user-agent", "grpc-timeout" })
        {
            Assert.Contains(header, allowed, StringComparison.Ordinal);
        }

        using var channel = WebChannel(gateway, GrpcWebMode.GrpcWebText);
        var check = await new global::Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = "carts" }, new Metadata { { "origin", "https://app.example" } }).ResponseHeadersAsync;
        Assert.Contains("grpc-status", check.GetValue("access-control-expose-headers") ?? "", StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task WithoutThePolicy_AGrpcWebCall_DoesNotReachTheServiceAsGrpc()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml("grpcWeb: { enabled: false }, cors: { origins: [ \"https://app.example\" ] }"));
        using var channel = WebChannel(gateway, GrpcWebMode.GrpcWeb);
        var refused = await Assert.ThrowsAsync<RpcException>(() => new global::Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new HealthCheckRequest { Service = "carts" }).ResponseAsync);
        Assert.NotEqual(StatusCode.OK, refused.StatusCode);
    }
}
