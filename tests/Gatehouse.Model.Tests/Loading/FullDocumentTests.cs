using System.Text.Json;
using Gatehouse.Model.Config;
using Gatehouse.Model.Tests.Support;

namespace Gatehouse.Model.Tests.Loading;

public sealed class FullDocumentTests : IDisposable
{
    private const string Yaml = """
        # Every key the model knows, set to a value other than its default.
        version: 1
        gateway:
          listeners:
            - url: http://127.0.0.1:8080
              protocols: http1
            - url: https://*:8443
              protocols: http2
              certificate:
                certFile: tls/gateway.crt
                keyFile: tls/gateway.key
          trustedProxies: [10.0.0.0/8, 192.168.1.7]
          maxRequestBodySize: 10MB
          maxRequestHeadersSize: 64KB
          drainTimeout: 45s
        services:
          users:
            targets:
              - url: https://10.0.0.5:5001
                weight: 3
              - https://users.internal:5002/base
            loadBalancing: leastRequests
            timeout: 1500ms
            connectTimeout: 2s
            protocol: http2
            tls:
              caFile: tls/ca.pem
              clientCertificate:
                certFile: tls/client.crt
                keyFile: tls/client.key
            healthCheck:
              active:
                path: /healthz
                interval: 5s
                timeout: 1s
                healthyThreshold: 1
                unhealthyThreshold: 4
              passive:
                consecutiveFailures: 7
                cooldown: 1m
            dnsRefresh: 2m
            maxConnectionsPerTarget: 100
          orders:
            targets: [http://127.0.0.1:5003]
            openapi:
              file: specs/orders.yaml
            operations:
              orders.getOrder:
                tags: [orders, public]
              orders.ping:
                method: GET
                path: /ping
                tags: [ops]
                access: write
            publish:
              basePath: /api
        routes:
          getUser:
            methods: [GET, head]
            path: /users/{id}
            host: api.example.com
            service: users
            upstreamPath: /v2/users/{id}
            timeout: 10s
          orders:
            methods: POST
            path: /orders/{**rest}
            service: orders
          order:
            operation: orders.getOrder
            path: /o/{id}
        """;

    private const string Json = """
        {
          "version": 1,
          "gateway": {
            "listeners": [
              { "url": "http://127.0.0.1:8080", "protocols": "http1" },
              {
                "url": "https://*:8443",
                "protocols": "http2",
                "certificate": { "certFile": "tls/gateway.crt", "keyFile": "tls/gateway.key" }
              }
            ],
            "trustedProxies": ["10.0.0.0/8", "192.168.1.7"],
            "maxRequestBodySize": "10MB",
            "maxRequestHeadersSize": "64KB",
            "drainTimeout": "45s"
          },
          "services": {
            "users": {
              "targets": [
                { "url": "https://10.0.0.5:5001", "weight": 3 },
                "https://users.internal:5002/base"
              ],
              "loadBalancing": "leastRequests",
              "timeout": "1500ms",
              "connectTimeout": "2s",
              "protocol": "http2",
              "tls": {
                "caFile": "tls/ca.pem",
                "clientCertificate": { "certFile": "tls/client.crt", "keyFile": "tls/client.key" }
              },
              "healthCheck": {
                "active": { "path": "/healthz", "interval": "5s", "timeout": "1s", "healthyThreshold": 1, "unhealthyThreshold": 4 },
                "passive": { "consecutiveFailures": 7, "cooldown": "1m" }
              },
              "dnsRefresh": "2m",
              "maxConnectionsPerTarget": 100
            },
            "orders": {
              "targets": ["http://127.0.0.1:5003"],
              "openapi": { "file": "specs/orders.yaml" },
              "operations": {
                "orders.getOrder": { "tags": ["orders", "public"] },
                "orders.ping": { "method": "GET", "path": "/ping", "tags": ["ops"], "access": "write" }
              },
              "publish": { "basePath": "/api" }
            }
          },
          "routes": {
            "getUser": {
              "methods": ["GET", "head"],
              "path": "/users/{id}",
              "host": "api.example.com",
              "service": "users",
              "upstreamPath": "/v2/users/{id}",
              "timeout": "10s"
            },
            "orders": { "methods": "POST", "path": "/orders/{**rest}", "service": "orders" },
            "order": { "operation": "orders.getOrder", "path": "/o/{id}" }
          }
        }
        """;

    private readonly TempDirectory _dir = new();

    public FullDocumentTests()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "tls"));
        foreach (var name in new[] { "gateway.crt", "gateway.key", "ca.pem", "client.crt", "client.key" })
        {
            _dir.File(Path.Combine("tls", name));
        }

        WriteOrdersSpec(_dir);
    }

    public void Dispose() => _dir.Dispose();

    /// <summary>specs/orders.yaml: the OpenAPI document with orders.getOrder that the test documents import.</summary>
    internal static void WriteOrdersSpec(TempDirectory dir)
    {
        Directory.CreateDirectory(Path.Combine(dir.Path, "specs"));
        dir.File(Path.Combine("specs", "orders.yaml"), """
            openapi: 3.1.0
            info: { title: Orders, version: "1" }
            paths:
              /orders/{id}:
                get: { operationId: orders.getOrder, tags: [orders] }
            """);
    }

    [Fact]
    public void FullDocument_Yaml_BindsEveryField()
    {
        var c = ConfigText.Valid(Yaml, baseDirectory: _dir.Path);

        Assert.Equal(1, c.Version);
        Assert.Equal(2, c.Gateway.Listeners.Count);
        Assert.Equal("http://127.0.0.1:8080", c.Gateway.Listeners[0].Url);
        Assert.Equal(ListenerProtocols.Http1, c.Gateway.Listeners[0].Protocols);
        Assert.Null(c.Gateway.Listeners[0].Certificate);
        Assert.Equal("https://*:8443", c.Gateway.Listeners[1].Url);
        Assert.Equal(ListenerProtocols.Http2, c.Gateway.Listeners[1].Protocols);
        Assert.Equal(Path.Combine(_dir.Path, "tls", "gateway.crt"), c.Gateway.Listeners[1].Certificate!.CertFile);
        Assert.Equal(Path.Combine(_dir.Path, "tls", "gateway.key"), c.Gateway.Listeners[1].Certificate!.KeyFile);
        Assert.Equal(["10.0.0.0/8", "192.168.1.7"], c.Gateway.TrustedProxies);
        Assert.Equal(10L * 1024 * 1024, c.Gateway.MaxRequestBodySize);
        Assert.Equal(64 * 1024, c.Gateway.MaxRequestHeadersSize);
        Assert.Equal(TimeSpan.FromSeconds(45), c.Gateway.DrainTimeout);

        Assert.Equal(["users", "orders"], c.Services.Keys);
        var users = c.Services["users"];
        Assert.Equal(new TargetConfig { Url = "https://10.0.0.5:5001", Weight = 3 }, users.Targets[0]);
        Assert.Equal(new TargetConfig { Url = "https://users.internal:5002/base", Weight = 1 }, users.Targets[1]);
        Assert.Equal(LoadBalancingPolicy.LeastRequests, users.LoadBalancing);
        Assert.Equal(TimeSpan.FromMilliseconds(1500), users.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(2), users.ConnectTimeout);
        Assert.Equal(UpstreamProtocol.Http2, users.Protocol);
        Assert.Equal(Path.Combine(_dir.Path, "tls", "ca.pem"), users.Tls!.CaFile);
        Assert.Equal(Path.Combine(_dir.Path, "tls", "client.key"), users.Tls.ClientCertificate!.KeyFile);
        Assert.Equal(
            new ActiveHealthCheckConfig { Path = "/healthz", Interval = TimeSpan.FromSeconds(5), Timeout = TimeSpan.FromSeconds(1), HealthyThreshold = 1, UnhealthyThreshold = 4 },
            users.HealthCheck!.Active);
        Assert.Equal(new PassiveHealthCheckConfig { ConsecutiveFailures = 7, Cooldown = TimeSpan.FromMinutes(1) }, users.HealthCheck.Passive);
        Assert.Equal(TimeSpan.FromMinutes(2), users.DnsRefresh);
        Assert.Equal(100, users.MaxConnectionsPerTarget);

        var orders = c.Services["orders"];
        Assert.Equal(Path.Combine(_dir.Path, "specs", "orders.yaml"), orders.Openapi!.File);
        Assert.Null(orders.Openapi.Url);
        Assert.Equal(["orders.getOrder", "orders.ping"], orders.Operations.Keys);
        Assert.Equal(["orders", "public"], orders.Operations["orders.getOrder"].Tags);
        Assert.Equal(new OperationConfig { Method = "GET", Path = "/ping", Tags = orders.Operations["orders.ping"].Tags, Access = OperationAccess.Write }, orders.Operations["orders.ping"]);
        Assert.Equal(["ops"], orders.Operations["orders.ping"].Tags);
        Assert.Equal("/api", orders.Publish!.BasePath);

        Assert.Equal(["getUser", "orders", "order", "orders.getOrder", "orders.ping"], c.Routes.Keys);
        Assert.Equal("orders.getOrder", c.Routes["order"].Operation);
        Assert.Equal("/o/{id}", c.Routes["order"].Path);
        Assert.Equal("/orders/{id}", c.Routes["order"].UpstreamPath);
        Assert.Equal("/api/ping", c.Routes["orders.ping"].Path);
        var getUser = c.Routes["getUser"];
        Assert.Equal(["GET", "head"], getUser.Methods);
        Assert.Equal("/users/{id}", getUser.Path);
        Assert.Equal("api.example.com", getUser.Host);
        Assert.Equal("users", getUser.Service);
        Assert.Equal("/v2/users/{id}", getUser.UpstreamPath);
        Assert.Equal(TimeSpan.FromSeconds(10), getUser.Timeout);
        Assert.Equal(["POST"], c.Routes["orders"].Methods);
    }

    [Fact]
    public void FullDocument_JsonAndYaml_LoadToEqualConfigs()
    {
        var fromYaml = ConfigText.Valid(Yaml, baseDirectory: _dir.Path);
        var fromJson = ConfigText.Valid(Json, baseDirectory: _dir.Path);

        // The records hold lists and dictionaries, whose Equals is by reference; serializing both
        // compares every field, nested ones included, in document order.
        Assert.Equal(Serialize(fromYaml), Serialize(fromJson));
        Assert.Equal(fromYaml.Gateway.Listeners[1], fromJson.Gateway.Listeners[1]);
        Assert.Equal(fromYaml.Routes["getUser"].Path, fromJson.Routes["getUser"].Path);
    }

    [Fact]
    public void FullDocument_Serialized_IncludesEveryKeyThatDiffersFromDefault()
    {
        // Guards the comparison above: a field that both formats failed to bind would compare equal.
        var fromYaml = Serialize(ConfigText.Valid(Yaml, baseDirectory: _dir.Path));
        var minimal = Serialize(ConfigText.Valid(ConfigText.Minimal));

        Assert.NotEqual(minimal, fromYaml);
        Assert.Contains("\"MaxConnectionsPerTarget\":100", fromYaml, StringComparison.Ordinal);
        Assert.Contains("\"UnhealthyThreshold\":4", fromYaml, StringComparison.Ordinal);
        Assert.Contains("\"Access\":1", fromYaml, StringComparison.Ordinal);
        Assert.Contains("\"BasePath\":\"/api\"", fromYaml, StringComparison.Ordinal);
    }

    [Fact]
    public void MinimalDocument_OmittedKeys_GetDocumentedDefaults()
    {
        var c = ConfigText.Valid("""
            version: 1
            services:
              users:
                targets: [http://127.0.0.1:5001]
                healthCheck:
                  active: {}
                  passive: {}
            routes:
              users:
                path: /users
                service: users
            """);

        Assert.Empty(c.Gateway.Listeners);
        Assert.Empty(c.Gateway.TrustedProxies);
        Assert.Equal(30L * 1024 * 1024, c.Gateway.MaxRequestBodySize);
        Assert.Equal(32 * 1024, c.Gateway.MaxRequestHeadersSize);
        Assert.Equal(TimeSpan.FromSeconds(10), c.Gateway.DrainTimeout);

        var s = c.Services["users"];
        Assert.Equal(1, s.Targets[0].Weight);
        Assert.Equal(LoadBalancingPolicy.RoundRobin, s.LoadBalancing);
        Assert.Equal(TimeSpan.FromSeconds(30), s.Timeout);
        Assert.Equal(TimeSpan.FromSeconds(5), s.ConnectTimeout);
        Assert.Equal(UpstreamProtocol.Http1, s.Protocol);
        Assert.Null(s.Tls);
        Assert.Equal(TimeSpan.FromSeconds(30), s.DnsRefresh);
        Assert.Null(s.MaxConnectionsPerTarget);

        var active = s.HealthCheck!.Active!;
        Assert.Equal("/health", active.Path);
        Assert.Equal(TimeSpan.FromSeconds(10), active.Interval);
        Assert.Equal(TimeSpan.FromSeconds(2), active.Timeout);
        Assert.Equal(2, active.HealthyThreshold);
        Assert.Equal(3, active.UnhealthyThreshold);
        Assert.Equal(5, s.HealthCheck.Passive!.ConsecutiveFailures);
        Assert.Equal(TimeSpan.FromSeconds(30), s.HealthCheck.Passive.Cooldown);

        var r = c.Routes["users"];
        Assert.Empty(r.Methods);
        Assert.Null(r.Host);
        Assert.Null(r.UpstreamPath);
        Assert.Null(r.Timeout);
        Assert.Null(r.Operation);
        Assert.Null(s.Openapi);
        Assert.Empty(s.Operations);
        Assert.Null(s.Publish);
        Assert.Equal("/", new PublishConfig().BasePath);
    }

    [Fact]
    public void Listener_ProtocolsOmitted_DefaultsToHttp1AndHttp2()
    {
        var c = ConfigText.Valid("""
            version: 1
            gateway:
              listeners:
                - url: http://127.0.0.1:8080
            """);

        Assert.Equal(ListenerProtocols.Http1AndHttp2, Assert.Single(c.Gateway.Listeners).Protocols);
        Assert.Empty(c.Services);
        Assert.Empty(c.Routes);
    }

    [Fact]
    public void HealthCheck_Omitted_IsNull()
    {
        var c = ConfigText.Valid(ConfigText.Minimal);

        Assert.Null(c.Services["users"].HealthCheck);
    }

    [Fact]
    public void LoadFile_RelativeCertificatePaths_ResolveAgainstTheFilesDirectory()
    {
        var file = _dir.File("gatehouse.json", Json);

        var result = Gatehouse.Model.Loading.ConfigLoader.LoadFile(file, _ => null);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        Assert.Equal(Path.Combine(_dir.Path, "tls", "ca.pem"), result.Config!.Services["users"].Tls!.CaFile);
    }

    [Fact]
    public void LoadFile_MissingFile_ReportsWhichFile()
    {
        var missing = Path.Combine(_dir.Path, "nope.yaml");

        var result = Gatehouse.Model.Loading.ConfigLoader.LoadFile(missing, _ => null);

        var error = Assert.Single(result.Errors);
        Assert.Contains(missing, error.Message, StringComparison.Ordinal);
        Assert.Null(result.Config);
    }

    private static string Serialize(GatehouseConfig c) => JsonSerializer.Serialize(c);
}
