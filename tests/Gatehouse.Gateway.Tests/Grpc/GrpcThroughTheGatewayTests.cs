using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Grpc.Net.Client;
using ServingStatus = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace Gatehouse.Gateway.Tests.Grpc;

/// <summary>
/// gRPC through the gateway, with the official .NET gRPC server and client: the standard health service
/// (<c>grpc.health.v1.Health</c>) behind an h2c listener, a unary call and a server stream, and the gateway's own
/// refusals (no key, over the rate limit, no route, upstream down) read by the client as gRPC statuses with their reason.
/// </summary>
public sealed class GrpcThroughTheGatewayTests : IAsyncLifetime
{
    private readonly TestKey _key = TestKey.New();
    private HealthService? _service;

    private HealthServiceImpl Health => _service!.Health;

    private TestBackend? Backend => _service?.Backend;

    public async Task InitializeAsync() => _service = await HealthService.StartAsync();

    public async Task DisposeAsync() => await _service!.DisposeAsync();

    private string Yaml(string target, int perMinute = 100) => $$"""
        version: 1
        gateway:
          observability:
            metrics: { url: "http://127.0.0.1:0" }
          listeners:
            - url: http://127.0.0.1:0
              protocols: http2
        services:
          health:
            targets: [{{target}}]
            protocol: http2
        routes:
          health: { path: "/grpc.health.v1.Health/{method}", methods: [POST], service: health }
        plans:
          retail: { include: [ { route: health } ], limits: [ { requests: {{perMinute}}, per: minute } ] }
        accounts: { acme: {} }
        applications:
        {{AccessKit.Application("shop", "retail", _key)}}
        """;

    private static GrpcChannel Channel(TestGateway gateway) => GrpcChannel.ForAddress(gateway.Url);

    private Metadata WithKey => new() { { "x-api-key", _key.Plaintext } };

    [Fact]
    public async Task AUnaryCall_AndAServerStream_GoThrough_WithTheirTrailers()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml(Backend!.Url));
        using var channel = Channel(gateway);
        var client = new global::Grpc.Health.V1.Health.HealthClient(channel);

        // The call only succeeds if the upstream's grpc-status trailer reached the client.
        var check = await client.CheckAsync(new HealthCheckRequest { Service = "carts" }, WithKey);
        Assert.Equal(ServingStatus.Serving, check.Status);

        var unknown = await Assert.ThrowsAsync<RpcException>(() => client.CheckAsync(new HealthCheckRequest { Service = "nope" }, WithKey).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, unknown.StatusCode); // the service's own status, passed through

        // Recorded as the HTTP status the gRPC one stands for (NOT_FOUND: 404), not as the 200 on the wire.
        using var metricsClient = new HttpClient();
        await Wait.UntilAsync(async () =>
        {
            var samples = await PrometheusParser.ParseAsync(await metricsClient.GetStringAsync(gateway.Host.MetricsUrl + "/metrics"));
            double Count(string status) => samples.Where(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_response_status_code") == status).Sum(s => s.Value);
            return Count("200") == 1 && Count("404") == 1;
        }, TimeSpan.FromSeconds(10), "one call recorded as 200 and one as 404");

        // A server stream is not buffered: a change on the server reaches the client while the call is open.
        using var cancel = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var watch = client.Watch(new HealthCheckRequest { Service = "carts" }, WithKey, cancellationToken: cancel.Token);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.Serving, watch.ResponseStream.Current.Status);
        Health.SetStatus("carts", ServingStatus.NotServing);
        Assert.True(await watch.ResponseStream.MoveNext(cancel.Token));
        Assert.Equal(ServingStatus.NotServing, watch.ResponseStream.Current.Status);
    }

    [Fact]
    public async Task TheGatewaysRefusals_AreGrpcStatuses_WithTheReason()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml(Backend!.Url, perMinute: 2));
        using var channel = Channel(gateway);
        var client = new global::Grpc.Health.V1.Health.HealthClient(channel);
        var request = new HealthCheckRequest { Service = "carts" };

        var noKey = await Assert.ThrowsAsync<RpcException>(() => client.CheckAsync(request).ResponseAsync);
        Assert.Equal(StatusCode.Unauthenticated, noKey.StatusCode);
        Assert.Contains("API key", noKey.Status.Detail, StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("urn:gatehouse:problem:", noKey.Trailers.GetValue("gatehouse-problem"), StringComparison.Ordinal);
        Assert.Equal("401", noKey.Trailers.GetValue("gatehouse-status"));

        await client.CheckAsync(request, WithKey);
        await client.CheckAsync(request, WithKey);
        var limited = await Assert.ThrowsAsync<RpcException>(() => client.CheckAsync(request, WithKey).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, limited.StatusCode);
        Assert.Contains("2 requests per minute", limited.Status.Detail, StringComparison.Ordinal);
        Assert.Equal("urn:gatehouse:problem:rate-limited", limited.Trailers.GetValue("gatehouse-problem"));
        Assert.NotNull(limited.Trailers.GetValue("retry-after"));

        // A method no route serves.
        var method = new Method<HealthCheckRequest, HealthCheckResponse>(MethodType.Unary, "shop.Orders", "Place",
            Marshallers.Create(r => Google.Protobuf.MessageExtensions.ToByteArray(r), HealthCheckRequest.Parser.ParseFrom),
            Marshallers.Create(r => Google.Protobuf.MessageExtensions.ToByteArray(r), HealthCheckResponse.Parser.ParseFrom));
        var unrouted = await Assert.ThrowsAsync<RpcException>(() => channel.CreateCallInvoker().AsyncUnaryCall(method, null, new CallOptions(WithKey), request).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, unrouted.StatusCode);
        Assert.Contains("No route", unrouted.Status.Detail, StringComparison.Ordinal);

        // The metrics (like usage, the access log and traces) record each refusal as the HTTP status it stands for.
        using var metricsClient = new HttpClient();
        var samples = await PrometheusParser.ParseAsync(await metricsClient.GetStringAsync(gateway.Host.MetricsUrl + "/metrics"));
        double Count(string status) => samples.Where(s => s.Name == "http_server_request_duration_seconds_count" && s.Labels.GetValueOrDefault("http_response_status_code") == status).Sum(s => s.Value);
        Assert.Equal((1, 1, 1, 2), (Count("401"), Count("429"), Count("404"), Count("200")));
    }

    [Fact]
    public async Task AnUpstreamThatIsDown_IsUnavailable()
    {
        await using var gateway = await TestGateway.StartAsync(Yaml($"http://127.0.0.1:{FreePorts.Tcp()}"));
        using var channel = Channel(gateway);
        var down = await Assert.ThrowsAsync<RpcException>(() => new global::Grpc.Health.V1.Health.HealthClient(channel).CheckAsync(new HealthCheckRequest(), WithKey).ResponseAsync);
        Assert.Equal(StatusCode.Unavailable, down.StatusCode);
        Assert.Equal("502", down.Trailers.GetValue("gatehouse-status"));
    }
}
