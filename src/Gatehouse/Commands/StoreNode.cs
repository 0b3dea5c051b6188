using Gatehouse.Gateway.Hosting;
using Gatehouse.Management.Admin;
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

    private StoreNode(GatewayHost host, NodeReporter node, RegistrationFollower registrations, AdminApi admin, long revision, string? generatedToken)
    {
        (_host, _node, _registrations, _admin) = (host, node, registrations, admin);
        Revision = revision;
        GeneratedToken = generatedToken;
    }

    public GatewayHost Host => _host;

    public string AdminUrl => _admin.Url;

    public string NodeId => _node.Id;

    /// <summary>The revision served at start.</summary>
    public long Revision { get; }

    /// <summary>The admin token when this start generated it (shown once); null when it came from the environment or the store.</summary>
    public string? GeneratedToken { get; }

    /// <summary>The errors of the store's current revision when it cannot be served (nothing is started then).</summary>
    public sealed record Refusal(long Revision, IReadOnlyList<ConfigError> Errors);

    public sealed record Options(
        IConfigStore Store,
        string BaseDirectory,
        Func<string, string?>? Environment,
        int? Port,
        string AdminUrl,
        string? NodeId,
        long AdminMaxBody);

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
        var host = await GatewayHost.StartAsync(new GatewayHostOptions { Config = loaded.Config!, Port = options.Port, Environment = options.Environment, QuotaStore = store, DeferAnnouncement = true }, ct).ConfigureAwait(false);
        // One record of whether the store answers, for every loop of this node: an outage is one line, not one per loop and attempt.
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        var health = new StoreHealth(loggers.CreateLogger("Gatehouse.Store"));
        var node = new NodeReporter(store, string.IsNullOrWhiteSpace(options.NodeId) ? NodeReporter.DefaultId() : options.NodeId, revision,
            logger: loggers.CreateLogger("Gatehouse.Nodes"), health: health);
        node.Start();
        // Self-registered targets (any node's admin API may take them) reach this gateway from the store.
        var registrations = new RegistrationFollower(store, host.Runtime.SetRegistrations, logger: loggers.CreateLogger("Gatehouse.Registrations"), health: health);
        registrations.Start();
        try
        {
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
                Ready = () => !host.Runtime.Draining,
                Drain = host.Drain,
            }, ct).ConfigureAwait(false);
            host.AnnounceLive();
            return (new StoreNode(host, node, registrations, admin, revision, generated), null);
        }
        catch
        {
            await registrations.DisposeAsync().ConfigureAwait(false);
            await node.DisposeAsync().ConfigureAwait(false);
            await host.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    // The admin API goes first, so no apply can race the reporter's or the follower's shutdown; the gateway goes last.
    public async ValueTask DisposeAsync()
    {
        await _admin.DisposeAsync().ConfigureAwait(false);
        await _registrations.DisposeAsync().ConfigureAwait(false);
        await _node.DisposeAsync().ConfigureAwait(false);
        await _host.DisposeAsync().ConfigureAwait(false);
    }
}
