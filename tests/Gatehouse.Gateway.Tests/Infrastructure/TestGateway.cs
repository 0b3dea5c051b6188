using Gatehouse.Gateway.Hosting;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Tests.Infrastructure;

/// <summary>A real gateway (Kestrel on 127.0.0.1, port 0) started from a YAML document.</summary>
internal sealed class TestGateway : IAsyncDisposable
{
    private TestGateway(GatewayHost host)
    {
        Host = host;
        Url = host.Urls[0];
        Client = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri(Url),
            Timeout = TimeSpan.FromSeconds(30),
        };
    }

    public GatewayHost Host { get; }

    /// <summary>The first listener's base URL.</summary>
    public string Url { get; }

    public int Port => new Uri(Url).Port;

    /// <summary>An HTTP/1.1 client aimed at <see cref="Url"/>.</summary>
    public HttpClient Client { get; }

    /// <summary>
    /// A new client aimed at <see cref="Url"/> that speaks exactly <paramref name="version"/> (h2c with prior
    /// knowledge for 2.0 over http). <paramref name="handler"/> defaults to a proxy-less <see cref="SocketsHttpHandler"/>.
    /// </summary>
    public HttpClient CreateClient(Version version, HttpMessageHandler? handler = null) =>
        new(handler ?? new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, UseCookies = false })
        {
            BaseAddress = new Uri(Url),
            Timeout = TimeSpan.FromSeconds(30),
            DefaultRequestVersion = version,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

    /// <summary>A new h2c (prior knowledge) client, for a listener configured with <c>protocols: http2</c>. The caller disposes it.</summary>
    public HttpClient CreateHttp2Client() => CreateClient(System.Net.HttpVersion.Version20);

    /// <summary>
    /// Starts a gateway with <paramref name="yaml"/>. When the document has no <c>gateway.listeners</c>, one
    /// plain listener on 127.0.0.1:0 is added. Throws with every error when the document is not valid.
    /// </summary>
    /// <param name="minimumLogLevel">Least severe level written (and so captured by <paramref name="logs"/>). Default Warning.</param>
    public static Task<TestGateway> StartAsync(string yaml, string? configPath = null, TimeProvider? time = null, ILoggerProvider? logs = null, LogLevel minimumLogLevel = LogLevel.Warning) =>
        StartAsync(Parse(yaml), configPath, time, logs, minimumLogLevel);

    /// <summary>Starts a gateway with <paramref name="config"/> (a listener on 127.0.0.1:0 is added when it has none).</summary>
    public static async Task<TestGateway> StartAsync(GatehouseConfig config, string? configPath = null, TimeProvider? time = null, ILoggerProvider? logs = null, LogLevel minimumLogLevel = LogLevel.Warning,
        Func<GatewayHostOptions, GatewayHostOptions>? options = null)
    {
        if (config.Gateway.Listeners.Count == 0)
        {
            config = config with { Gateway = config.Gateway with { Listeners = [new ListenerConfig { Url = "http://127.0.0.1:0" }] } };
        }

        var hostOptions = new GatewayHostOptions
        {
            Config = config,
            ConfigPath = configPath,
            Time = time ?? TimeProvider.System,
            MinimumLogLevel = minimumLogLevel,
            ConfigureLogging = logs is null ? null : b => b.AddProvider(logs),
        };
        var host = await GatewayHost.StartAsync(options is null ? hostOptions : options(hostOptions));
        return new TestGateway(host);
    }

    /// <summary>Parses and validates a YAML document; throws listing every error.</summary>
    public static GatehouseConfig Parse(string yaml)
    {
        var result = ConfigLoader.Load(yaml, Path.GetTempPath());
        if (!result.IsValid)
        {
            throw new InvalidOperationException("Test config is not valid:\n" + string.Join("\n", result.Errors));
        }

        return result.Config!;
    }

    /// <summary>A one-service config with one catch-all route in front of <paramref name="backendUrl"/>.</summary>
    public static string SimpleYaml(string backendUrl, string timeout = "30s") => $$"""
        version: 1
        gateway:
          maxRequestBodySize: 100MB
        services:
          backend:
            targets: [{{backendUrl}}]
            timeout: {{timeout}}
        routes:
          all:
            path: /{**rest}
            service: backend
        """;

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await Host.DisposeAsync();
    }
}
