using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Gatehouse.Gateway.Authentication;
using Gatehouse.Gateway.Forwarding;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Observability;
using Gatehouse.Gateway.Runtime;
using Gatehouse.Gateway.ServiceApi;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace Gatehouse.Gateway.Hosting;

/// <summary>A running gateway: Kestrel listeners in front of a <see cref="GatewayRuntime"/>.</summary>
internal sealed class GatewayHost : IAsyncDisposable
{
    /// <summary>The listener used when the config names none.</summary>
    public const string DefaultListenerUrl = "http://127.0.0.1:8080";

    private readonly WebApplication _app;
    private readonly ConfigFileWatcher? _watcher;
    private readonly ServiceApiHost? _serviceApi;
    private readonly QuotaPersistence? _quotas;
    private readonly MetricsListener? _metricsListener;
    private readonly HealthHost? _health;
    private readonly TaskCompletionSource _drainAsked = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Lock _stopLock = new();
    private Task? _stopped;

    private IReadOnlyList<ListenerCertificate> _certificates = [];
    private Upstreams.PeriodicLoop? _tlsFiles;

    private GatewayHost(WebApplication app, GatewayRuntime runtime, ConfigFileWatcher? watcher, IReadOnlyList<string> urls, ServiceApiHost? serviceApi,
        QuotaPersistence? quotas, GatewayTelemetry telemetry, PrometheusText? metrics, MetricsListener? metricsListener, HealthHost? health)
    {
        _health = health;
        _quotas = quotas;
        _app = app;
        Runtime = runtime;
        _watcher = watcher;
        Urls = urls;
        _serviceApi = serviceApi;
        Telemetry = telemetry;
        Metrics = metrics;
        _metricsListener = metricsListener;
    }

    /// <summary>What this gateway records about requests (usage, access log, spans).</summary>
    public GatewayTelemetry Telemetry { get; }

    /// <summary>The Prometheus text of this process's metrics; null when <c>gateway.observability.metrics.enabled</c> is false.</summary>
    public PrometheusText? Metrics { get; }

    /// <summary>The metrics listener's bound address; null when <c>gateway.observability.metrics.url</c> is not set.</summary>
    public string? MetricsUrl => _metricsListener?.Url;

    public GatewayRuntime Runtime { get; }

    /// <summary>The addresses actually bound (port 0 resolved), e.g. <c>http://127.0.0.1:8080</c>.</summary>
    public IReadOnlyList<string> Urls { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>The service API's bound address (port 0 resolved); null when <c>gateway.serviceApi</c> is not configured.</summary>
    public string? ServiceApiUrl => _serviceApi?.Url;

    public static async Task<GatewayHost> StartAsync(GatewayHostOptions options, CancellationToken cancellationToken = default)
    {
        var config = options.Config;
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss ";
        });
        builder.Logging.SetMinimumLevel(options.MinimumLogLevel);
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        // A listener that cannot bind is thrown to the caller, which says so in one line; the host's own report of it is a stack trace.
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", LogLevel.Critical);
        // ASP.NET Core starts an Activity and a log scope for every request while this category is enabled at any level,
        // whether or not anything traces (the gateway's own server span is GatewayTracing's); it logs nothing else the
        // gateway reports (start-up failures reach the caller as exceptions). Off, that per-request work is gone.
        builder.Logging.AddFilter("Microsoft.AspNetCore.Hosting.Diagnostics", LogLevel.None);
        options.ConfigureLogging?.Invoke(builder.Logging);
        // The drain passes its own deadline, from the live revision's drainTimeout (a reload may change it), so the
        // host's fixed one must not cut it shorter.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromDays(1));
        builder.Services.AddSingleton(options.Time);
        builder.Services.AddSingleton<GatewayRuntime>();
        builder.Services.AddSingleton<HttpForwarder>();
        builder.Services.AddSingleton<GatewayRequestHandler>();
        builder.Services.AddSingleton<Ai.TokenLimiter>();
        builder.Services.AddSingleton<Ai.AiCooldowns>();
        builder.Services.AddSingleton<Ai.AiResponses>();
        builder.Services.AddSingleton<Ai.AiHandler>();
        Mcp.McpEndpoint.AddServices(builder.Services);
        if (options.TelemetrySettings is { } settings)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        var observability = config.Gateway.Observability;
        var tracing = GatewayTracing.EnabledBy(name => builder.Configuration[name]);
        var metrics = observability.Metrics.Enabled && (options.MetricsOnAdmin || observability.Metrics.Url is not null) ? new PrometheusText() : null;
        if (metrics is not null || tracing)
        {
            var otel = builder.Services.AddOpenTelemetry();
            if (string.IsNullOrEmpty(builder.Configuration["OTEL_SERVICE_NAME"]))
            {
                otel.ConfigureResource(r => r.AddService("gatehouse"));
            }

            if (metrics is not null)
            {
                // ASP.NET Core's hosting meter is not listened to: its per-request instruments (http.server.request.duration,
                // http.server.active_requests) are RequestMetrics', recorded off the request path.
                // HttpClient's two per-request instruments are dropped: with either one listened to, every upstream call
                // goes through its MetricsHandler (one more async state machine, three recordings of six tags), which
                // cost more than any other metric. gatehouse.upstream.duration (GatewayMetrics) says the same per
                // service with one recording; HttpClient's connection-pool instruments stay.
                // System.Runtime is .NET's own meter of the process (CPU time, working set, GC collections, heap sizes and
                // pauses, thread pool queue, lock contention, exceptions): observable instruments read at each scrape, apart
                // from the exceptions counter, which the runtime adds to only when an exception is thrown.
                otel.WithMetrics(m => m
                    .AddMeter("System.Runtime")
                    .AddMeter("Microsoft.AspNetCore.Server.Kestrel", "System.Net.Http", GatewayMetrics.MeterName, "Gatehouse.Composition", "Gatehouse.Access", "Gatehouse.Resilience", "Gatehouse.Policies", "Gatehouse.Portal", Ai.AiMetrics.MeterName)
                    .AddView("http.client.request.duration", MetricStreamConfiguration.Drop)
                    .AddView("http.client.active_requests", MetricStreamConfiguration.Drop)
                    // Also per request: a pooled connection turns active and idle again on every call, and each turn records
                    // this up-down counter twice with five tags (measured: a sixth of all metrics' cost per request).
                    // Upstream connections opened and their lifetimes stay in http.client.connection.duration.
                    .AddView("http.client.open_connections", MetricStreamConfiguration.Drop)
                    // Recorded for every request that takes a pooled connection, waiting or not, with five tags. How long
                    // requests wait for a connection is inside gatehouse.upstream.duration (from the send to the headers).
                    .AddView("http.client.request.time_in_queue", MetricStreamConfiguration.Drop)
                    .AddReader(metrics.Reader));
            }

            if (tracing)
            {
                // The gateway samples before it makes a span (GatewayTracing.StartServer, with the sampler the OTEL_TRACES_SAMPLER
                // settings name); what reaches the SDK is sampled already.
                otel.WithTracing(t => t.AddSource(GatewayTracing.SourceName).SetSampler(new AlwaysOnSampler()).AddOtlpExporter());
            }
        }

        builder.Services.AddSingleton(sp => new GatewayTelemetry(
            sp.GetRequiredService<GatewayRuntime>(), observability, options.UsageSink, options.NodeId, metrics,
            tracing ? GatewayTracing.SamplerFrom(name => builder.Configuration[name]) : null, options.Time, sp.GetRequiredService<ILoggerFactory>(), options.RequestMetricsQueue));

        // DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1 makes the runtime complete socket operations on its
        // epoll threads rather than queueing them to the thread pool. Kestrel's transport follows the same
        // switch, so that with it a request runs from receive to send without a thread hop. Off by default:
        // it is only safe while nothing on the request path blocks. Measured in docs/benchmarks.md.
        if (OperatingSystem.IsLinux() && Environment.GetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS") == "1")
        {
            builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = true);
        }

        var listeners = EffectiveListeners(config, options.Port);
        var certificates = new List<ListenerCertificate>();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // No HPACK dynamic table for response headers on HTTP/2 (issue 25): values that are never in a table the
            // connection shares cannot leak through its compression (RFC 7541, section 7.1), and indexing each response's
            // headers (a request id, a date, whatever the service sent) and evicting older ones was about 0.2-0.3 µs a
            // request in a profile of the HTTPS HTTP/2 front (docs/benchmarks.md), for a few dozen bytes a response.
            // nginx does not index response headers either. Request headers are still decoded with the client's table.
            kestrel.AllowResponseHeaderCompression = false;
            kestrel.Limits.MaxRequestBodySize = config.Gateway.MaxRequestBodySize;
            kestrel.Limits.MaxRequestHeadersTotalSize = config.Gateway.MaxRequestHeadersSize;
            foreach (var listener in listeners)
            {
                Bind(kestrel, listener, options.Time, certificates, options.CertificateCheckInterval);
            }
        });

        var app = builder.Build();

        // Built now rather than by the SDK's hosted service, so that the first requests are already measured and traced.
        _ = app.Services.GetService<MeterProvider>();
        _ = app.Services.GetService<TracerProvider>();
        var runtime = app.Services.GetRequiredService<GatewayRuntime>();
        // What the AI gateway keeps for an application (responses, conversations) goes with it, off the apply's path.
        var kept = app.Services.GetRequiredService<Ai.AiResponses>();
        runtime.ApplicationsRemoved += kept.Forget;
        runtime.Engine.Consumers.Removed += kept.Forget;
        // Before the first snapshot is compiled: its limits count across nodes only when there is an engine to count in.
        var cluster = await ClusterLimits.CreateAsync(config, options, runtime.Counters, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Limits")).ConfigureAwait(false);
        runtime.Counters.Cluster = cluster;
        var errors = runtime.Apply(config, announce: false);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("The configuration is not valid:" + Environment.NewLine + string.Join(Environment.NewLine, errors));
        }

        // The counts kept across restarts are in the counters before the first request can be counted.
        QuotaPersistence? quotas = null;
        if (options.QuotaStore is { } quotaStore)
        {
            quotas = new QuotaPersistence(runtime.Counters, quotaStore, options.Time, app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Quotas"), options.QuotaWriteInterval,
                app.Services.GetRequiredService<Ai.TokenLimiter>());
            await quotas.LoadAsync(cancellationToken).ConfigureAwait(false);
        }

        if (cluster is not null)
        {
            // The node count and whether the engine answers are known before the first request is limited.
            await cluster.StartAsync(cancellationToken).ConfigureAwait(false);
        }

        if (metrics is not null)
        {
            GatewayMetrics.Watch(runtime, options.Time);
        }

        var handler = app.Services.GetRequiredService<GatewayRequestHandler>();
        Mcp.McpEndpoint.Map(app, runtime);
        Mcp.McpResourceMetadata.Map(app, runtime);
        app.Run(handler.HandleAsync);
        ServiceApiHost? serviceApi = null;
        MetricsListener? metricsListener = null;
        HealthHost? health = null;
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
            serviceApi = config.Gateway.ServiceApi is { } api
                ? await ServiceApiHost.StartAsync(api, runtime, app.Services.GetRequiredService<GatewayTelemetry>(), app.Services.GetRequiredService<ILoggerFactory>(), cancellationToken).ConfigureAwait(false)
                : null;
            metricsListener = metrics is not null && observability.Metrics.Url is { } metricsUrl
                ? await MetricsListener.StartAsync(metricsUrl, metrics, cancellationToken).ConfigureAwait(false)
                : null;
            if (options.HealthUrl is { } healthUrl)
            {
                try
                {
                    health = await HealthHost.StartAsync(healthUrl, runtime, options.HasConfig, app.Services.GetRequiredService<ILoggerFactory>(), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException e) when (options.HealthUrlOptional)
                {
                    // The default address, taken (by another gateway on this machine, say): serving matters more.
                    GatewayHostLog.HealthNotStarted(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Drain"), healthUrl, e.Message);
                }
            }
        }
        catch
        {
            if (serviceApi is not null)
            {
                await serviceApi.DisposeAsync().ConfigureAwait(false);
            }

            // Nothing is live: a port taken, a certificate that does not load. Stop what the apply started (health checks).
            try
            {
                await app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            }
            catch (Exception stopping) when (stopping is not OutOfMemoryException)
            {
                // Stopping a host that never started may fail too; the reason it did not start is what matters.
            }

            if (serviceApi is not null)
            {
                await serviceApi.DisposeAsync().ConfigureAwait(false);
            }

            if (metricsListener is not null)
            {
                await metricsListener.DisposeAsync().ConfigureAwait(false);
            }

            if (health is not null)
            {
                await health.DisposeAsync().ConfigureAwait(false);
            }

            GatewayMetrics.Forget(runtime);
            if (cluster is not null)
            {
                await cluster.DisposeAsync().ConfigureAwait(false);
            }

            await runtime.DisposeAsync().ConfigureAwait(false);
            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        if (!options.DeferAnnouncement)
        {
            runtime.AnnounceLive();
        }

        quotas?.Start();
        var urls = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.ToList() ?? [];
        ConfigFileWatcher? watcher = null;
        if (options.ConfigPath is { } path)
        {
            watcher = new ConfigFileWatcher(path, config, options.Environment, runtime, options.Time, app.Services.GetRequiredService<ILoggerFactory>());
            watcher.Start();
        }

        // Services' TLS files renewed in place (a rotated client certificate, a new CA bundle) are looked at every so often,
        // off the request path; a change makes the service a new upstream with them (GatewayRuntime.RenewIfTlsFilesChanged).
        var tlsFiles = new Upstreams.PeriodicLoop(options.CertificateCheckInterval ?? ListenerCertificate.DefaultCheckInterval, options.Time, _ =>
        {
            runtime.RenewIfTlsFilesChanged();
            return Task.CompletedTask;
        });
        tlsFiles.Start();
        return new GatewayHost(app, runtime, watcher, urls, serviceApi, quotas, app.Services.GetRequiredService<GatewayTelemetry>(), metrics, metricsListener, health)
        {
            _certificates = certificates,
            _tlsFiles = tlsFiles,
        };
    }

    /// <summary>The configured listeners, or the default one; <paramref name="port"/> replaces the first one's port.</summary>
    internal static IReadOnlyList<ListenerConfig> EffectiveListeners(GatehouseConfig config, int? port)
    {
        var listeners = config.Gateway.Listeners.Count > 0
            ? config.Gateway.Listeners.ToList()
            : [new ListenerConfig { Url = DefaultListenerUrl }];
        if (port is { } p)
        {
            var first = new UriBuilder(listeners[0].Url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal)) { Port = p };
            listeners[0] = listeners[0] with { Url = first.Uri.GetLeftPart(UriPartial.Authority) };
        }

        return listeners;
    }

    /// <param name="certificates">Collects the certificates of the https listeners bound (read again when their files change).</param>
    internal static void Bind(KestrelServerOptions kestrel, ListenerConfig listener, TimeProvider? time = null, List<ListenerCertificate>? certificates = null, TimeSpan? certificateCheck = null)
    {
        var uri = new Uri(listener.Url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal));
        var protocols = listener.Protocols switch
        {
            ListenerProtocols.Http1 => HttpProtocols.Http1,
            ListenerProtocols.Http2 => HttpProtocols.Http2,
            // Without TLS there is no ALPN, and Kestrel (as of .NET 10) cannot tell h2c from HTTP/1.1 on one
            // port, so a plaintext "both" listener serves HTTP/1.1; h2c needs its own 'protocols: http2' listener.
            _ => listener.Certificate is null ? HttpProtocols.Http1 : HttpProtocols.Http1AndHttp2,
        };

        void Configure(ListenOptions o)
        {
            o.Protocols = protocols;
            var logger = kestrel.ApplicationServices.GetService<ILoggerFactory>()?.CreateLogger("Gatehouse.Listeners") ?? (ILogger)Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
            if (listener.ProxyProtocol)
            {
                // Before TLS: the header is the connection's first bytes. The trusted proxies are the live config's.
                var runtime = kestrel.ApplicationServices.GetRequiredService<GatewayRuntime>();
                o.Use(next => new ProxyProtocolMiddleware(next, listener.Url, address => runtime.Current.IsTrustedProxy(address), time ?? TimeProvider.System, logger).OnConnectionAsync);
            }

            if (listener.RedirectToHttps is { } httpsPort)
            {
                // The handler asks for this only when some listener redirects (GatewayRuntime.HttpsRedirects).
                kestrel.ApplicationServices.GetRequiredService<GatewayRuntime>().HttpsRedirects = true;
                var redirect = new HttpsRedirect(httpsPort);
                o.Use(next => connection =>
                {
                    connection.Features.Set(redirect);
                    return next(connection);
                });
            }

            if (listener.Certificate is not { } files)
            {
                return;
            }

            var certificate = new ListenerCertificate(listener.Url, files, time ?? TimeProvider.System, logger, certificateCheck);
            certificates?.Add(certificate);
            o.UseHttps(listener.ClientCertificates is { } clients
                ? ClientCertificateHttps(certificate, new ClientCertificateAuthority(clients.CaFile, time ?? TimeProvider.System, logger, certificateCheck, clients.CrlFile))
                : new TlsHandshakeCallbackOptions
                {
                    // Kestrel adds ALPN for the listener's protocols to the options returned here.
                    OnConnection = _ => ValueTask.FromResult(new SslServerAuthenticationOptions { ServerCertificateContext = certificate.ForNewConnection() }),
                });
        }

        if (uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns)
        {
            // "localhost": both loopback families, except for port 0, which Kestrel can only bind once.
            if (uri.Port == 0)
            {
                kestrel.Listen(IPAddress.Loopback, 0, Configure);
            }
            else
            {
                kestrel.ListenLocalhost(uri.Port, Configure);
            }

            return;
        }

        var address = IPAddress.Parse(uri.Host.Trim('[', ']'));
        kestrel.Listen(address, uri.Port, Configure);
    }

    /// <summary>Logs "Revision N is live" when <see cref="GatewayHostOptions.DeferAnnouncement"/> held it back.</summary>
    public void AnnounceLive() => Runtime.AnnounceLive();

    /// <summary>
    /// TLS that asks for a client certificate and never fails the handshake over it: the chain is checked against the
    /// listener's CA here, once per connection, and the verdict is left on the connection for the authenticate step.
    /// A certificate that does not chain then authenticates nobody and gets the same 401 as every other failed
    /// credential, rather than a TLS alert that says which check failed; a client without one can use another credential.
    /// </summary>
    /// <remarks>
    /// The per-connection callback form, because only it hands the validation callback the connection: Kestrel's
    /// <c>ClientCertificateValidation</c> sees the certificate and nothing to leave a verdict on. Kestrel still adds
    /// ALPN for the listener's protocols to the options returned here (HTTP/2 over such a listener is tested).
    /// </remarks>
    private static TlsHandshakeCallbackOptions ClientCertificateHttps(ListenerCertificate server, ClientCertificateAuthority authority)
    {
        return new TlsHandshakeCallbackOptions
        {
            OnConnection = callback =>
            {
                var connection = callback.Connection;
                var roots = authority.ForNewConnection();
                return ValueTask.FromResult(new SslServerAuthenticationOptions
                {
                    ServerCertificateContext = server.ForNewConnection(),
                    ClientCertificateRequired = true,
                    RemoteCertificateValidationCallback = (_, certificate, presented, _) =>
                    {
                        if (certificate is X509Certificate2 client)
                        {
                            connection.Features.Set(new ClientCertificateVerdict(client, authority.Trusts(roots, client, presented)));
                        }

                        // No certificate, or one that does not chain: the handshake goes on, the request decides.
                        return true;
                    },
                });
            },
        };
    }

    /// <summary>The <c>/ready</c> and <c>/live</c> listener's address, when <see cref="GatewayHostOptions.HealthUrl"/> was set.</summary>
    public string? HealthUrl => _health?.Url;

    /// <summary>
    /// Waits until the process is asked to stop (Ctrl+C, SIGTERM), a drain is asked for (<see cref="Drain"/>), or
    /// <paramref name="cancellationToken"/> fires; then drains (see <see cref="DrainAsync"/>).
    /// </summary>
    public async Task WaitForShutdownAsync(CancellationToken cancellationToken = default)
    {
        var stopping = _app.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (stopping.Register(() => signal.TrySetResult()).ConfigureAwait(false))
        await using (cancellationToken.Register(() => signal.TrySetResult()).ConfigureAwait(false))
        {
            await Task.WhenAny(signal.Task, _drainAsked.Task).ConfigureAwait(false);
        }

        await DrainAsync().ConfigureAwait(false);
    }

    /// <summary>Asks for a drain (<c>POST /admin/drain</c>): <see cref="WaitForShutdownAsync"/> then drains, and the process exits.</summary>
    public void Drain() => _drainAsked.TrySetResult();

    /// <summary>
    /// The graceful stop: readiness turns 503 at once; new connections are still accepted for <c>drainDelay</c>, so
    /// load balancers notice; then the listeners close and requests in flight get up to <c>drainTimeout</c> to finish
    /// (Kestrel adds <c>Connection: close</c> to HTTP/1.1 responses and sends HTTP/2 GOAWAY), after which the rest are
    /// aborted. Both settings are read from the live revision, so a reload that changed them applies. Idempotent.
    /// </summary>
    public Task DrainAsync() => StopAsync(withDelay: true);

    private Task StopAsync(bool withDelay)
    {
        lock (_stopLock)
        {
            return _stopped ??= Run();
        }

        async Task Run()
        {
            var gateway = Runtime.Current.Config.Gateway;
            var logger = _app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Drain");
            Runtime.BeginDrain();
            if (withDelay && gateway.DrainDelay > TimeSpan.Zero)
            {
                GatewayHostLog.DrainStarted(logger, gateway.DrainDelay, gateway.DrainTimeout);
                await Task.Delay(gateway.DrainDelay).ConfigureAwait(false);
            }

            GatewayHostLog.ListenersClosing(logger, gateway.DrainTimeout);
            Runtime.CloseListeners();
            using var deadline = new CancellationTokenSource(gateway.DrainTimeout);
            await _app.StopAsync(deadline.Token).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var certificate in _certificates)
        {
            certificate.Retire();
        }

        if (_tlsFiles is not null)
        {
            await _tlsFiles.DisposeAsync().ConfigureAwait(false);
        }

        _watcher?.Dispose();
        if (_serviceApi is not null)
        {
            await _serviceApi.DisposeAsync().ConfigureAwait(false);
        }

        if (_metricsListener is not null)
        {
            await _metricsListener.DisposeAsync().ConfigureAwait(false);
        }

        await StopAsync(withDelay: false).ConfigureAwait(false);
        if (_health is not null)
        {
            await _health.DisposeAsync().ConfigureAwait(false);
        }
        // After the listeners stopped: the last requests are in the counts it writes.
        if (_quotas is not null)
        {
            await _quotas.DisposeAsync().ConfigureAwait(false);
        }

        // After the listeners stopped too: its last round adds the last requests' counts to the engine.
        if (Runtime.Counters.Cluster is { } cluster)
        {
            await cluster.DisposeAsync().ConfigureAwait(false);
        }

        GatewayMetrics.Forget(Runtime);

        // After the listeners drained: the last requests' records are in, and the final flush writes them.
        await Telemetry.DisposeAsync().ConfigureAwait(false);
        await Runtime.DisposeAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }
}
