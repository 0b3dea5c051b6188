using Gatehouse.Caching;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Nodes;
using Gatehouse.Management.Registrations;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Validation;
using System.Runtime.InteropServices;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// A gateway whose configuration is a store: the gateway serving the store's current revision, the admin API that
/// changes it, this node's reports, the registration follower, and the loop that serves revisions other nodes commit
/// (inside the admin API, or on its own for <see cref="NodeRole.Data"/>). <c>gatehouse run --store</c> and
/// <c>gatehouse demo</c> both start one. The role decides which parts run: <see cref="NodeRole.Control"/> has no
/// gateway (admin API and portal only), <see cref="NodeRole.Data"/> has no admin API and no portal.
/// </summary>
internal sealed class StoreNode : IAsyncDisposable
{
    private readonly GatewayHost? _host;
    private readonly NodeReporter? _node;
    private readonly RegistrationFollower? _registrations;
    private readonly AdminApi? _admin;
    private readonly ConsumerFollower? _consumers;
    private readonly PortalHost? _portal;
    private readonly RevisionFollower? _follower;
    private NodeApi? _nodeApi;
    private SnapshotSigner? _signer;
    private ILoggerFactory? _ownLoggers;
    private CachePurgeBroadcast? _purges;

    private StoreNode(NodeRole role, GatewayHost? host, NodeReporter? node, RegistrationFollower? registrations, AdminApi? admin, ConsumerFollower? consumers, PortalHost? portal, RevisionFollower? follower, long revision, string? generatedToken)
    {
        (_host, _node, _registrations, _admin, _consumers, _portal, _follower) = (host, node, registrations, admin, consumers, portal, follower);
        Role = role;
        Revision = revision;
        GeneratedToken = generatedToken;
    }

    /// <summary>Which parts run here.</summary>
    public NodeRole Role { get; }

    /// <summary>The gateway; only a <see cref="NodeRole.Control"/> node has none (then this throws).</summary>
    public GatewayHost Host => _host ?? throw new InvalidOperationException("A control-plane node (--role control) runs no gateway.");

    /// <summary>The admin API's bound address; null on a <see cref="NodeRole.Data"/> node.</summary>
    public string? AdminUrl => _admin?.Url;

    /// <summary>The portal's bound address; null with <c>--no-portal</c> or on a data node.</summary>
    public string? PortalUrl => _portal?.Url;

    internal AdminApi Admin => _admin ?? throw new InvalidOperationException("A data node (--role data) runs no admin API.");

    /// <summary>The id this node reports under; null on a control node (it serves no traffic, so it is not a node of the list).</summary>
    public string? NodeId => _node?.Id;

    /// <summary>The revision served at start.</summary>
    public long Revision { get; }

    /// <summary>The node API's bound address; null when it was not asked for (<c>--node-api-url</c>).</summary>
    public string? NodeApiUrl => _nodeApi?.Url;

    /// <summary>The key that signs snapshots for hybrid data nodes; null without a node API.</summary>
    public SnapshotSigner? Signer => _signer;

    /// <summary>Where the signing key is, when a node API runs.</summary>
    public string? SigningKeyFile { get; private set; }

    /// <summary>The admin token when this start generated it (shown once); null when it came from the environment or the store.</summary>
    public string? GeneratedToken { get; }

    /// <summary>One plain line for a listener that could not bind (a port in use), saying which options move it.</summary>
    public static string CannotListen(IOException e) => CliErrors.OneLine(e);

    /// <summary>The errors of the store's current revision when it cannot be served (nothing is started then).</summary>
    public sealed record Refusal(long Revision, IReadOnlyList<ConfigError> Errors);

    public sealed record Options(
        IConfigStore Store,
        string BaseDirectory,
        Func<string, string?>? Environment,
        int? Port,
        string AdminUrl,
        string? NodeId,
        long AdminMaxBody,
        string? PortalUrl = PortalOptions.DefaultUrl,
        string? PortalGatewayUrl = null,
        WebSettings? PortalMail = null,
        NodeRole Role = NodeRole.Both,
        TimeSpan? PollInterval = null,
        NodeApiSettings? NodeApi = null,
        StartupProgress? Progress = null);

    /// <summary>The node API for hybrid data nodes: its listener, TLS files, and the snapshot signing key's file.</summary>
    public sealed record NodeApiSettings(string Url, string? CertificateFile, string? KeyFile, string SigningKeyFile);

    /// <summary>Loads the store's current revision and starts everything; a refusal when that revision is not valid here.</summary>
    public static async Task<(StoreNode? Node, Refusal? Refusal)> StartAsync(Options options, CancellationToken ct)
    {
        var store = options.Store;
        options.Progress?.Step("loading the store's current revision");
        var (revision, loaded) = await StoreConfig.LoadAsync(store, options.BaseDirectory, options.Environment, cancellationToken: ct).ConfigureAwait(false);
        if (!loaded.IsValid)
        {
            return (null, new Refusal(revision, loaded.Errors));
        }

        switch (options.Role)
        {
            case NodeRole.Control:
                return (await StartControlAsync(options, revision, ct).ConfigureAwait(false), null);
            case NodeRole.Data:
                return (await StartDataAsync(options, revision, loaded.Config!, ct).ConfigureAwait(false), null);
        }

        options.Progress?.Step("reading the admin token from the store");
        var (tokenHash, generated) = await AdminToken.ResolveAsync(store, System.Environment.GetEnvironmentVariable(AdminToken.EnvironmentVariable), ct).ConfigureAwait(false);
        var nodeId = string.IsNullOrWhiteSpace(options.NodeId) ? NodeReporter.DefaultId() : options.NodeId;
        var lease = await AcquireAsync(options, nodeId, revision, ct).ConfigureAwait(false);
        options.Progress?.Step("starting the gateway (its quotas from the store, the first round of cluster limits)");
        var host = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            ConfigureLogging = LogFormat.Apply,
            Config = loaded.Config!,
            Port = options.Port,
            Environment = options.Environment,
            QuotaStore = store,
            // Nodes on one PostgreSQL store count cluster limits there (a SQLite store is no counter engine: docs/limits.md).
            LimitEngine = store as Model.Limits.ILimitEngine,
            DeferAnnouncement = true,
            // Usage rollups go to the same store, under this node's id, while this process holds it (NodeLease).
            UsageSink = lease.UsageSink(store),
            NodeId = nodeId,
            MetricsOnAdmin = true,
        }, ct).ConfigureAwait(false);
        // One record of whether the store answers, for every loop of this node: an outage is one line, not one per loop and attempt.
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        var health = new StoreHealth(loggers.CreateLogger("Gatehouse.Store"));
        var node = new NodeReporter(store, nodeId, revision, logger: loggers.CreateLogger("Gatehouse.Nodes"), health: health, lease: lease);
        node.Start();
        // Self-registered targets (any node's admin API may take them) reach this gateway from the store.
        var registrations = new RegistrationFollower(store, host.Runtime.SetRegistrations, logger: loggers.CreateLogger("Gatehouse.Registrations"), health: health);
        registrations.Start();
        // Portal applications reach this gateway from the store, beside the revisions (docs/portal.md).
        var consumers = new ConsumerFollower(store, host.Runtime.Consumers);
        // Purges of this node's memory cache go to the other nodes of the store, and theirs come here (docs/policies.md).
        var purges = CachePurgeBroadcast.For(store, nodeId, host.Runtime, loggers.CreateLogger("Gatehouse.Cache"));
        PortalHost? portal = null;
        AdminApi? started = null;
        (NodeApi Api, SnapshotSigner Signer)? nodeApi = null;
        try
        {
            options.Progress?.Step("reading the portal's applications from the store");
            await consumers.StartAsync(ct).ConfigureAwait(false);
            if (purges is not null)
            {
                await purges.StartAsync(ct).ConfigureAwait(false);
            }

            options.Progress?.Step("starting the node API and the admin API");
            nodeApi = await StartNodeApiAsync(options, health, loggers, ct).ConfigureAwait(false);
            var admin = await AdminApi.StartAsync(new AdminApiOptions
            {
                ConfigureLogging = LogFormat.Apply,
                Committed = nodeApi is { } api ? _ => api.Api.Committed() : null,
                Url = options.AdminUrl,
                PublicUrl = options.PortalMail?.ConsolePublicUrl,
                Sso = options.PortalMail?.ConsoleSso,
                Store = store,
                TokenSha256 = tokenHash,
                Apply = host.Runtime.Apply,
                ServedRevision = revision,
                BaseDirectory = options.BaseDirectory,
                Environment = options.Environment,
                Node = node,
                Registrations = registrations,
                MaxBodySize = options.AdminMaxBody,
                Health = health,
                Consumers = consumers,
                Metrics = host.Metrics is { } metrics ? context => Gateway.Observability.MetricsListener.WriteAsync(context, metrics) : null,
                Limits = application => Gateway.Limiting.QuotaReport.For(host.Runtime, application, (Gateway.Ai.TokenLimiter?)host.Services.GetService(typeof(Gateway.Ai.TokenLimiter))),
                PurgeCache = purges is not null ? TellingNodes(purges.PurgeAsync, nodeApi?.Api) : (route, path, cancellationToken) => host.Runtime.Cache is { } cache ? cache.PurgeAsync(route, path, cancellationToken) : Task.FromResult<int?>(0),
                Ready = () => !host.Runtime.Draining,
                Drain = host.Drain,
                FollowInterval = options.PollInterval ?? RevisionFollower.DefaultInterval,
            }, ct).ConfigureAwait(false);
            started = admin;
            if (options.PortalUrl is { } portalUrl)
            {
                options.Progress?.Step("starting the developer portal");
                portal = await PortalHost.StartAsync(new PortalOptions
                {
                    Url = portalUrl,
                    Admin = admin,
                    GatewayUrl = options.PortalGatewayUrl ?? host.Urls[0],
                    MailDirectory = options.PortalMail?.Directory,
                    Smtp = options.PortalMail?.Smtp,
                    MailFrom = options.PortalMail?.From,
                    PublicUrl = options.PortalMail?.PublicUrl,
                    Sso = options.PortalMail?.PortalSso,
                    OAuthClients = options.PortalMail?.PortalOAuth,
                }, ct).ConfigureAwait(false);
            }

            host.AnnounceLive();
            return (new StoreNode(NodeRole.Both, host, node, registrations, admin, consumers, portal, null, revision, generated) { _purges = purges }.With(nodeApi, options, null), null);
        }
        catch
        {
            if (started is not null)
            {
                await started.DisposeAsync().ConfigureAwait(false);
            }

            if (nodeApi is { } startedApi)
            {
                await startedApi.Api.DisposeAsync().ConfigureAwait(false);
                startedApi.Signer.Dispose();
            }

            if (purges is not null)
            {
                await purges.DisposeAsync().ConfigureAwait(false);
            }

            await consumers.DisposeAsync().ConfigureAwait(false);
            await registrations.DisposeAsync().ConfigureAwait(false);
            await node.DisposeAsync().ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // This process's hold on its node id, before anything writes under it: another running node under the same id is
    // refused here (NodeIdInUseException, one line), so that neither overwrites the other's usage rows.
    private static Task<NodeLease> AcquireAsync(Options options, string nodeId, long revision, CancellationToken ct)
    {
        options.Progress?.Step($"taking node id {nodeId} in the store");
        return NodeLease.AcquireAsync(options.Store, nodeId, revision, waiting: line =>
        {
            Console.Error.WriteLine($"Gatehouse: {line}.");
            options.Progress?.Step(line);
        }, cancellationToken: ct);
    }

    // The admin API (which still validates every change and checks that the store's revision loads) and the portal; no
    // gateway, so nothing serves public traffic, reports as a node, or follows registrations and consumers.
    private static async Task<StoreNode> StartControlAsync(Options options, long revision, CancellationToken ct)
    {
        options.Progress?.Step("reading the admin token from the store");
        var (tokenHash, generated) = await AdminToken.ResolveAsync(options.Store, System.Environment.GetEnvironmentVariable(AdminToken.EnvironmentVariable), ct).ConfigureAwait(false);
        // No gateway, so no gateway logging to share: the node API and the store's health log through a console logger of their own.
        var loggers = LoggerFactory.Create(logging =>
        {
            logging.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.TimestampFormat = "HH:mm:ss ";
            }).AddFilter("Microsoft", LogLevel.Warning);
            LogFormat.Apply(logging);
        });
        var health = new StoreHealth(loggers.CreateLogger("Gatehouse.Store"));
        (NodeApi Api, SnapshotSigner Signer)? nodeApi;
        try
        {
            options.Progress?.Step("starting the node API");
            nodeApi = await StartNodeApiAsync(options, health, loggers, ct).ConfigureAwait(false);
        }
        catch
        {
            loggers.Dispose();
            throw;
        }

        // No cache here, but a purge its admin API takes is recorded for the data nodes, which carry it out (docs/policies.md).
        var purges = CachePurgeBroadcast.For(options.Store, "control:" + NodeReporter.DefaultId(), null, loggers.CreateLogger("Gatehouse.Cache"));
        AdminApi admin;
        try
        {
            if (purges is not null)
            {
                await purges.StartAsync(ct).ConfigureAwait(false);
            }

            admin = await AdminApi.StartAsync(new AdminApiOptions
            {
                ConfigureLogging = LogFormat.Apply,
                Committed = nodeApi is { } api ? _ => api.Api.Committed() : null,
                Health = health,
                Url = options.AdminUrl,
                PublicUrl = options.PortalMail?.ConsolePublicUrl,
                Sso = options.PortalMail?.ConsoleSso,
                Store = options.Store,
                TokenSha256 = tokenHash,
                ServedRevision = revision,
                BaseDirectory = options.BaseDirectory,
                Environment = options.Environment,
                MaxBodySize = options.AdminMaxBody,
                PurgeCache = purges is null ? null : TellingNodes(purges.PurgeAsync, nodeApi?.Api),
            }, ct).ConfigureAwait(false);
        }
        catch
        {
            if (nodeApi is { } startedApi)
            {
                await startedApi.Api.DisposeAsync().ConfigureAwait(false);
                startedApi.Signer.Dispose();
            }

            loggers.Dispose();
            throw;
        }

        PortalHost? portal = null;
        try
        {
            if (options.PortalUrl is { } portalUrl)
            {
                portal = await PortalHost.StartAsync(new PortalOptions
                {
                    Url = portalUrl,
                    Admin = admin,
                    // The data nodes' public address is not known here; the default listener's stands in until given.
                    GatewayUrl = options.PortalGatewayUrl ?? $"http://127.0.0.1:{options.Port ?? 8080}",
                    MailDirectory = options.PortalMail?.Directory,
                    Smtp = options.PortalMail?.Smtp,
                    MailFrom = options.PortalMail?.From,
                    PublicUrl = options.PortalMail?.PublicUrl,
                    Sso = options.PortalMail?.PortalSso,
                    OAuthClients = options.PortalMail?.PortalOAuth,
                }, ct).ConfigureAwait(false);
            }
        }
        catch
        {
            await admin.DisposeAsync().ConfigureAwait(false);
            if (nodeApi is { } startedApi)
            {
                await startedApi.Api.DisposeAsync().ConfigureAwait(false);
                startedApi.Signer.Dispose();
            }

            loggers.Dispose();
            throw;
        }

        return new StoreNode(NodeRole.Control, null, null, null, admin, null, portal, null, revision, generated) { _purges = purges }.With(nodeApi, options, loggers);
    }

    private StoreNode With((NodeApi Api, SnapshotSigner Signer)? nodeApi, Options options, ILoggerFactory? ownLoggers)
    {
        _nodeApi = nodeApi?.Api;
        _signer = nodeApi?.Signer;
        SigningKeyFile = nodeApi is null ? null : options.NodeApi?.SigningKeyFile;
        _ownLoggers = ownLoggers;
        return this;
    }

    // The node API for hybrid data nodes, when asked for: the signing key (made on first use), then the listener.
    // A purge recorded in the store reaches the hybrid nodes' long polls at once, not at the node API's next look at the store.
    private static Func<string, string?, CancellationToken, Task<int?>> TellingNodes(Func<string, string?, CancellationToken, Task<int?>> purge, NodeApi? api) =>
        api is null ? purge : async (route, path, cancellationToken) =>
        {
            var purged = await purge(route, path, cancellationToken).ConfigureAwait(false);
            api.CachePurged();
            return purged;
        };

    private static async Task<(NodeApi Api, SnapshotSigner Signer)?> StartNodeApiAsync(Options options, StoreHealth health, ILoggerFactory loggers, CancellationToken ct)
    {
        if (options.NodeApi is not { } settings)
        {
            return null;
        }

        var signer = SnapshotSigner.LoadOrCreate(settings.SigningKeyFile);
        try
        {
            // Its chain is sent and its files are read again when they change, as for the gateway's https listeners.
            var certificate = settings.CertificateFile is { } certFile && settings.KeyFile is { } keyFile
                ? new Gateway.Hosting.ListenerCertificate(settings.Url, new Model.Config.CertificateConfig { CertFile = certFile, KeyFile = keyFile }, TimeProvider.System, loggers.CreateLogger("Gatehouse.NodeApi"))
                : null;
            var api = await NodeApi.StartAsync(new NodeApiOptions
            {
                Url = settings.Url,
                Certificate = certificate is null ? null : certificate.ForNewConnection,
                Store = options.Store,
                Signer = signer,
                Health = health,
                // Hybrid nodes count cluster limits in the same counters as the nodes on this store (PostgreSQL only).
                LimitEngine = options.Store as Model.Limits.ILimitEngine,
                PollInterval = options.PollInterval ?? RevisionFollower.DefaultInterval,
                // PostgreSQL's NOTIFY wakes the consumer watch at once; the query is then only for a lost notification.
                ConsumerPollInterval = options.Store is IConsumerNotifications ? ConsumerFollower.NotifiedInterval : ConsumerFollower.DefaultInterval,
            }, loggers, ct).ConfigureAwait(false);
            return (api, signer);
        }
        catch
        {
            signer.Dispose();
            throw;
        }
    }

    // The gateway, this node's reports, registrations, consumers and the revision follower; /ready and /live on a
    // listener of their own at the admin URL's address (as gatehouse run --config does), since there is no admin API.
    private static async Task<StoreNode> StartDataAsync(Options options, long revision, Model.Config.GatehouseConfig config, CancellationToken ct)
    {
        var store = options.Store;
        var nodeId = string.IsNullOrWhiteSpace(options.NodeId) ? NodeReporter.DefaultId() : options.NodeId;
        var lease = await AcquireAsync(options, nodeId, revision, ct).ConfigureAwait(false);
        options.Progress?.Step("starting the gateway (its quotas from the store)");
        var host = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            ConfigureLogging = LogFormat.Apply,
            Config = config,
            Port = options.Port,
            Environment = options.Environment,
            QuotaStore = store,
            UsageSink = lease.UsageSink(store),
            NodeId = nodeId,
            HealthUrl = options.AdminUrl,
        }, ct).ConfigureAwait(false);
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        var health = new StoreHealth(loggers.CreateLogger("Gatehouse.Store"));
        var node = new NodeReporter(store, nodeId, revision, logger: loggers.CreateLogger("Gatehouse.Nodes"), health: health, lease: lease);
        var registrations = new RegistrationFollower(store, host.Runtime.SetRegistrations, logger: loggers.CreateLogger("Gatehouse.Registrations"), health: health);
        var consumers = new ConsumerFollower(store, host.Runtime.Consumers);
        var follower = RevisionFollower.Create(store, options.BaseDirectory, options.Environment, revision, host.Runtime.Apply, node, health, loggers, options.PollInterval);
        var purges = CachePurgeBroadcast.For(store, nodeId, host.Runtime, loggers.CreateLogger("Gatehouse.Cache"));
        try
        {
            node.Start();
            registrations.Start();
            options.Progress?.Step("reading the portal's applications from the store");
            await consumers.StartAsync(ct).ConfigureAwait(false);
            if (purges is not null)
            {
                await purges.StartAsync(ct).ConfigureAwait(false);
            }

            follower.Start();
            return new StoreNode(NodeRole.Data, host, node, registrations, null, consumers, null, follower, revision, null) { _purges = purges };
        }
        catch
        {
            if (purges is not null)
            {
                await purges.DisposeAsync().ConfigureAwait(false);
            }

            await follower.DisposeAsync().ConfigureAwait(false);
            await consumers.DisposeAsync().ConfigureAwait(false);
            await registrations.DisposeAsync().ConfigureAwait(false);
            await node.DisposeAsync().ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Until the process is asked to stop: the gateway's own wait (it drains first), or on a control node (no gateway)
    /// until SIGINT or SIGTERM.
    /// </summary>
    public async Task WaitForShutdownAsync(CancellationToken ct)
    {
        if (_host is not null)
        {
            await _host.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return;
        }

        var stop = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.TrySetResult();
        }

        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        await stop.Task.WaitAsync(ct).ConfigureAwait(false);
    }

    // The admin API goes first, so no apply can race the reporter's or the follower's shutdown; the gateway goes last.
    public async ValueTask DisposeAsync()
    {
        if (_portal is not null)
        {
            await _portal.DisposeAsync().ConfigureAwait(false);
        }

        if (_admin is not null)
        {
            await _admin.DisposeAsync().ConfigureAwait(false);
        }

        if (_nodeApi is not null)
        {
            await _nodeApi.DisposeAsync().ConfigureAwait(false);
        }

        _signer?.Dispose();

        if (_follower is not null)
        {
            await _follower.DisposeAsync().ConfigureAwait(false);
        }

        if (_consumers is not null)
        {
            await _consumers.DisposeAsync().ConfigureAwait(false);
        }

        if (_purges is not null)
        {
            await _purges.DisposeAsync().ConfigureAwait(false);
        }

        if (_registrations is not null)
        {
            await _registrations.DisposeAsync().ConfigureAwait(false);
        }

        if (_node is not null)
        {
            await _node.DisposeAsync().ConfigureAwait(false);
        }

        if (_host is not null)
        {
            await _host.DisposeAsync().ConfigureAwait(false);
        }

        _ownLoggers?.Dispose();
    }
}
