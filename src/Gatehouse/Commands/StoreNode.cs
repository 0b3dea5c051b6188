using Gatehouse.Gateway.Hosting;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Consumers;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Nodes;
using Gatehouse.Management.Registrations;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Validation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// A gateway whose configuration is a store: the gateway serving the store's current revision, the admin API that
/// changes it, this node's reports, the registration follower, and (inside the admin API) the loop that serves
/// revisions other nodes commit. <c>gatehouse run --store</c> and <c>gatehouse demo</c> both start one.
/// </summary>
internal sealed class StoreNode : IAsyncDisposable
{
    private readonly GatewayHost _host;
    private readonly NodeReporter _node;
    private readonly RegistrationFollower _registrations;
    private readonly AdminApi _admin;
    private readonly ConsumerFollower _consumers;
    private readonly PortalHost? _portal;

    private StoreNode(GatewayHost host, NodeReporter node, RegistrationFollower registrations, AdminApi admin, ConsumerFollower consumers, PortalHost? portal, long revision, string? generatedToken)
    {
        (_host, _node, _registrations, _admin, _consumers, _portal) = (host, node, registrations, admin, consumers, portal);
        Revision = revision;
        GeneratedToken = generatedToken;
    }

    public GatewayHost Host => _host;

    public string AdminUrl => _admin.Url;

    /// <summary>The portal's bound address; null with <c>--no-portal</c>.</summary>
    public string? PortalUrl => _portal?.Url;

    internal AdminApi Admin => _admin;

    public string NodeId => _node.Id;

    /// <summary>The revision served at start.</summary>
    public long Revision { get; }

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
        string? PortalMailDirectory = null);

    /// <summary>Loads the store's current revision and starts everything; a refusal when that revision is not valid here.</summary>
    public static async Task<(StoreNode? Node, Refusal? Refusal)> StartAsync(Options options, CancellationToken ct)
    {
        var store = options.Store;
        var (revision, loaded) = await StoreConfig.LoadAsync(store, options.BaseDirectory, options.Environment, cancellationToken: ct).ConfigureAwait(false);
        if (!loaded.IsValid)
        {
            return (null, new Refusal(revision, loaded.Errors));
        }

        var (tokenHash, generated) = await AdminToken.ResolveAsync(store, System.Environment.GetEnvironmentVariable(AdminToken.EnvironmentVariable), ct).ConfigureAwait(false);
        var nodeId = string.IsNullOrWhiteSpace(options.NodeId) ? NodeReporter.DefaultId() : options.NodeId;
        var host = await GatewayHost.StartAsync(new GatewayHostOptions
        {
            Config = loaded.Config!,
            Port = options.Port,
            Environment = options.Environment,
            QuotaStore = store,
            // Nodes on one PostgreSQL store count cluster limits there (a SQLite store is no counter engine: docs/limits.md).
            LimitEngine = store as Model.Limits.ILimitEngine,
            DeferAnnouncement = true,
            // Usage rollups go to the same store, under this node's id (node ids must differ between nodes of one store).
            UsageSink = store as Model.Usage.IUsageSink,
            NodeId = nodeId,
            MetricsOnAdmin = true,
        }, ct).ConfigureAwait(false);
        // One record of whether the store answers, for every loop of this node: an outage is one line, not one per loop and attempt.
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        var health = new StoreHealth(loggers.CreateLogger("Gatehouse.Store"));
        var node = new NodeReporter(store, nodeId, revision, logger: loggers.CreateLogger("Gatehouse.Nodes"), health: health);
        node.Start();
        // Self-registered targets (any node's admin API may take them) reach this gateway from the store.
        var registrations = new RegistrationFollower(store, host.Runtime.SetRegistrations, logger: loggers.CreateLogger("Gatehouse.Registrations"), health: health);
        registrations.Start();
        // Portal applications reach this gateway from the store, beside the revisions (docs/portal.md).
        var consumers = new ConsumerFollower(store, host.Runtime.Consumers);
        PortalHost? portal = null;
        AdminApi? started = null;
        try
        {
            await consumers.StartAsync(ct).ConfigureAwait(false);
            var admin = await AdminApi.StartAsync(new AdminApiOptions
            {
                Url = options.AdminUrl,
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
                Limits = application => Gateway.Limiting.QuotaReport.For(host.Runtime, application),
                PurgeCache = (route, path) => host.Runtime.Cache?.Purge(route, path) ?? 0,
                Ready = () => !host.Runtime.Draining,
                Drain = host.Drain,
            }, ct).ConfigureAwait(false);
            started = admin;
            if (options.PortalUrl is { } portalUrl)
            {
                portal = await PortalHost.StartAsync(new PortalOptions
                {
                    Url = portalUrl,
                    Admin = admin,
                    GatewayUrl = options.PortalGatewayUrl ?? host.Urls[0],
                    Usage = new LiveQuotaUsage(host.Runtime),
                    MailDirectory = options.PortalMailDirectory,
                }, ct).ConfigureAwait(false);
            }

            host.AnnounceLive();
            return (new StoreNode(host, node, registrations, admin, consumers, portal, revision, generated), null);
        }
        catch
        {
            if (started is not null)
            {
                await started.DisposeAsync().ConfigureAwait(false);
            }

            await consumers.DisposeAsync().ConfigureAwait(false);
            await registrations.DisposeAsync().ConfigureAwait(false);
            await node.DisposeAsync().ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // The admin API goes first, so no apply can race the reporter's or the follower's shutdown; the gateway goes last.
    public async ValueTask DisposeAsync()
    {
        if (_portal is not null)
        {
            await _portal.DisposeAsync().ConfigureAwait(false);
        }

        await _admin.DisposeAsync().ConfigureAwait(false);
        await _consumers.DisposeAsync().ConfigureAwait(false);
        await _registrations.DisposeAsync().ConfigureAwait(false);
        await _node.DisposeAsync().ConfigureAwait(false);
        await _host.DisposeAsync().ConfigureAwait(false);
    }
}
