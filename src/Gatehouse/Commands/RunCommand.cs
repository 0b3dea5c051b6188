using System.CommandLine;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Portal;
using Gatehouse.Management.Nodes;
using Gatehouse.Management.Registrations;
using Gatehouse.Management.Revisions;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Validation;

namespace Gatehouse.Cli.Commands;

/// <summary>
/// <c>gatehouse run --config FILE</c>: serves the file's config and applies every valid change to it.
/// <c>gatehouse run --store CONNECTION</c>: the store is the source of truth, changed through the admin API.
/// </summary>
internal static class RunCommand
{
    public static Command Create()
    {
        var config = new Option<FileInfo?>("--config", "-c")
        {
            Description = "The config file (YAML or JSON); it is watched for changes. With --store, it is imported once into an empty store.",
        };
        var store = new Option<string?>("--store", "-s")
        {
            Description = "The configuration store (a SQLite file, sqlite:PATH, or a PostgreSQL URL); changes are made through the admin API.",
        };
        var adminUrl = new Option<string>("--admin-url")
        {
            Description = $"Where the admin API listens with --store; with --config alone, a listener that serves only GET /ready and /live (default {AdminApiOptions.DefaultUrl}).",
            DefaultValueFactory = _ => AdminApiOptions.DefaultUrl,
        };
        var port = new Option<int?>("--port", "-p") { Description = "Port of the first listener (default 8080)." };
        var nodeId = new Option<string?>("--node-id")
        {
            Description = "The id this process reports as a node (GET /admin/nodes). With --store, default HOSTNAME:PID; with --control-plane, default an id made at the first start and kept in --state-dir (node-id), which its node token is bound to.",
        };
        var adminMaxBody = new Option<long?>("--admin-max-body")
        {
            Description = "With --store, the largest admin request body in bytes (default 1 MiB); raise it to POST /admin/config a config of many thousands of entries.",
        };
        var role = new Option<string>("--role")
        {
            Description = "What this process serves: both (public traffic, admin API and portal; the default), control (admin API and portal, no public listener; needs --store) or data (public traffic only; /ready and /live on --admin-url).",
            DefaultValueFactory = _ => "both",
        };
        var controlPlane = new Option<string?>("--control-plane") { Description = "With --role data: the control plane's node API (https://HOST:PORT); the node fetches signed config from it and never sees the store." };
        var nodeToken = new Option<string?>("--node-token") { Description = $"With --control-plane: this node's token (POST /admin/node-tokens); default ${NodeTokenVariable}." };
        var controlPlaneKey = new Option<string?>("--control-plane-key") { Description = "With --control-plane: the control plane's public key (PEM file) that every snapshot must be signed with." };
        var controlPlaneCa = new Option<string?>("--control-plane-ca") { Description = "With --control-plane: a CA certificate (PEM) the node API's certificate chains to, when it is not a public one." };
        var clusterLimits = new Option<bool>("--cluster-limits") { Description = "With --control-plane: count limits with scope: cluster in the control plane's counter engine (its PostgreSQL store), leased through the node API; without it they count on this node alone." };
        var stateDir = new Option<string?>("--state-dir")
        {
            Description = "With --control-plane: where the last good configs and the quota counts are kept (default ./gatehouse-node). With --config: where quota counts are kept, so that a restart does not start hourly, daily and monthly quotas over (default: none, they count in memory).",
        };
        var nodeApiUrl = new Option<string?>("--node-api-url") { Description = "With --store and role both or control: serve the node API for hybrid data nodes here (https://ADDRESS:PORT)." };
        var nodeApiCert = new Option<string?>("--node-api-cert") { Description = "The node API's TLS certificate (PEM)." };
        var nodeApiKey = new Option<string?>("--node-api-key") { Description = "The node API's TLS private key (PEM)." };
        var signingKey = new Option<string?>("--signing-key") { Description = "With --node-api-url: the snapshot signing key (PEM, P-256), generated there on first use with its public key beside it as .pub.pem (default ./gatehouse-signing-key.pem)." };
        var keepRevisions = new Option<int?>("--keep-revisions") { Description = "With --store and role both or control: prune the history to the newest N revisions at start and every hour (as 'gatehouse prune' does)." };
        var auditOlderThan = new Option<string?>("--audit-older-than") { Description = "With --keep-revisions: also drop audit entries older than this, e.g. 365d." };
        var nodesOlderThan = PruneCommand.NodesOption();
        var portal = PortalOptionSet.Create();
        var command = new Command("run", "Run the gateway with a config file, or with a store and the admin API.")
        {
            config, store, adminUrl, port, nodeId, adminMaxBody, role, controlPlane, nodeToken, controlPlaneKey, controlPlaneCa, clusterLimits, stateDir, nodeApiUrl, nodeApiCert, nodeApiKey, signingKey,
            keepRevisions, auditOlderThan, nodesOlderThan,
        };
        portal.AddTo(command);
        command.SetAction(async (parse, ct) =>
        {
            var path = parse.GetValue(config)?.FullName;
            if (ParseRole(parse.GetValue(role)) is not { } nodeRole)
            {
                Console.Error.WriteLine($"--role '{parse.GetValue(role)}' is not a role: write both (the default), control or data.");
                return 2;
            }

            if (parse.GetValue(clusterLimits) && parse.GetValue(controlPlane) is null)
            {
                Console.Error.WriteLine("--cluster-limits is for a hybrid data node (--role data --control-plane URL); nodes with --store postgres://… share their engine already (docs/limits.md).");
                return 2;
            }

            if (parse.GetValue(controlPlane) is { } controlPlaneUrl)
            {
                if (nodeRole != NodeRole.Data || parse.GetValue(store) is not null || path is not null)
                {
                    Console.Error.WriteLine("--control-plane is for --role data alone: a hybrid data node has no --store and no --config, it fetches its config.");
                    return 2;
                }

                return await HybridCommand.RunAsync(new HybridCommand.Arguments(
                    controlPlaneUrl,
                    parse.GetValue(nodeToken) ?? Environment.GetEnvironmentVariable(NodeTokenVariable),
                    parse.GetValue(controlPlaneKey),
                    parse.GetValue(controlPlaneCa),
                    parse.GetValue(stateDir) ?? "gatehouse-node",
                    parse.GetValue(nodeId),
                    parse.GetValue(port),
                    parse.GetValue(adminUrl)!,
                    parse.GetValue(clusterLimits)), ct).ConfigureAwait(false);
            }

            if (parse.GetValue(stateDir) is not null && parse.GetValue(store) is not null)
            {
                Console.Error.WriteLine("--state-dir is for a node without a store (--config FILE, or --control-plane URL); with --store the quota counts are kept in the store.");
                return 2;
            }

            StoreNode.NodeApiSettings? nodeApi = null;
            if (parse.GetValue(nodeApiUrl) is { } nodeApiAt)
            {
                if (nodeRole == NodeRole.Data || parse.GetValue(store) is null)
                {
                    Console.Error.WriteLine("--node-api-url is served by a control plane: give --store CONNECTION, with --role both or control.");
                    return 2;
                }

                nodeApi = new StoreNode.NodeApiSettings(nodeApiAt, parse.GetValue(nodeApiCert), parse.GetValue(nodeApiKey), Path.GetFullPath(parse.GetValue(signingKey) ?? "gatehouse-signing-key.pem"));
            }

            PruneCommand.Retention? retention = null;
            if (parse.GetValue(keepRevisions) is { } keep)
            {
                if (parse.GetValue(store) is null || nodeRole == NodeRole.Data)
                {
                    Console.Error.WriteLine("--keep-revisions prunes a store's history: give it with --store, on a node of role both or control.");
                    return 2;
                }

                if (PruneCommand.ReadRetention(keep, parse.GetValue(auditOlderThan), parse.GetValue(nodesOlderThan)) is not { } read)
                {
                    return 2;
                }

                retention = read;
            }
            else if (parse.GetValue(auditOlderThan) is not null || parse.GetValue(nodesOlderThan) is not null)
            {
                Console.Error.WriteLine($"{(parse.GetValue(auditOlderThan) is not null ? "--audit-older-than" : "--nodes-older-than")} goes with --keep-revisions (how many revisions the history keeps).");
                return 2;
            }

            if (parse.GetValue(store) is { } connection)
            {
                if (!TryPollInterval(Environment.GetEnvironmentVariable(PollIntervalVariable), out var poll))
                {
                    Console.Error.WriteLine($"{PollIntervalVariable} must be a number of seconds from 0.05 to 3600 (default 2), not '{Environment.GetEnvironmentVariable(PollIntervalVariable)}'.");
                    return 2;
                }

                return await RunWithStoreAsync(connection, path, parse.GetValue(adminUrl)!, parse.GetValue(port), parse.GetValue(nodeId), parse.GetValue(adminMaxBody), portal.Read(parse, PortalOptions.DefaultUrl), nodeRole, poll, nodeApi, retention, ct).ConfigureAwait(false);
            }

            if (nodeRole == NodeRole.Control)
            {
                Console.Error.WriteLine("--role control serves the admin API of a store: give --store CONNECTION (a config file alone has no admin API).");
                return 2;
            }

            if (path is null)
            {
                Console.Error.WriteLine("Give --config FILE, or --store CONNECTION (with --config FILE to import a file into an empty store).");
                return 2;
            }

            var result = ConfigLoader.LoadFile(path);
            if (!result.IsValid)
            {
                return Refuse(path, result.Errors);
            }

            // One process per state folder, as for a hybrid node: two would each overwrite the other's quota counts.
            Hybrid.StateFolderLock? folderLock = null;
            if (parse.GetValue(stateDir) is { } lockIn)
            {
                try
                {
                    folderLock = Hybrid.StateFolderLock.TryTake(Path.GetFullPath(lockIn), out var heldBy, "two gateways on one folder would overwrite each other's quota counts");
                    if (folderLock is null)
                    {
                        Console.Error.WriteLine(heldBy);
                        return 2;
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Console.Error.WriteLine($"--state-dir {Path.GetFullPath(lockIn)} cannot be used ({e.Message.TrimEnd('.')}): give a folder this user can write.");
                    return 2;
                }
            }

            using var heldFolder = folderLock;
            var quotaFile = parse.GetValue(stateDir) is { } keepIn ? new QuotaFile(Path.Combine(keepIn, Hybrid.HybridNode.QuotaFileName)) : null;
            await using var host = await GatewayHost.StartAsync(new GatewayHostOptions
            {
                ConfigureLogging = LogFormat.Apply,
                Config = result.Config!,
                ConfigPath = path,
                QuotaStore = quotaFile,
                Port = parse.GetValue(port),
                HealthUrl = parse.GetValue(adminUrl),
                HealthUrlOptional = parse.GetResult(adminUrl) is null or { Implicit: true },
            }, ct).ConfigureAwait(false);
            var health = host.HealthUrl is { } healthUrl ? $"; /ready and /live on {healthUrl}" : "";
            Console.Out.WriteLine($"Gatehouse is listening on {string.Join(", ", host.Urls)} (config {path}, watched for changes{health}). Ctrl+C stops it.");
            if (quotaFile is not null)
            {
                Console.Out.WriteLine($"Quota counts are kept in {quotaFile.Path}.");
            }
            else if (HasQuotas(result.Config!))
            {
                Console.Out.WriteLine("Quotas (per hour, day or month) count in memory and start over when this process restarts; --state-dir DIR keeps them.");
            }

            if (host.MetricsUrl is { } metricsUrl)
            {
                Console.Out.WriteLine($"Metrics: {metricsUrl}/metrics");
            }
            await host.WaitForShutdownAsync(ct).ConfigureAwait(false);
            return 0;
        });
        return command;
    }

    /// <summary>
    /// How often a node sharing a store polls it for revisions committed elsewhere, in seconds (default 2). On PostgreSQL a
    /// commit's NOTIFY is heard at once and this poll is only the fallback (docs/stores.md).
    /// </summary>
    internal const string PollIntervalVariable = "GATEHOUSE_STORE_POLL_INTERVAL";

    /// <summary>Where a hybrid data node's token is read when <c>--node-token</c> is not given (keeps it out of <c>ps</c>).</summary>
    internal const string NodeTokenVariable = "GATEHOUSE_NODE_TOKEN";

    internal static bool TryPollInterval(string? text, out TimeSpan? interval)
    {
        interval = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return true;
        }

        if (double.TryParse(text, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var seconds) && seconds is >= 0.05 and <= 3600)
        {
            interval = TimeSpan.FromSeconds(seconds);
            return true;
        }

        return false;
    }

    // Whether a plan of the config has a limit that the start-up line about quotas in memory concerns (per hour or longer).
    private static bool HasQuotas(Gatehouse.Model.Config.GatehouseConfig config) =>
        config.Plans.Values.Any(plan =>
            plan.Limits.Concat(plan.OperationLimits.Values.SelectMany(l => l)).Any(l => l.Per >= Gatehouse.Model.Config.LimitPeriod.Hour)
            || plan.ModelLimits().Any(l => l.Per >= Gatehouse.Model.Config.LimitPeriod.Hour));

    /// <summary>The role named on the command line (case-insensitive); null when it is none of them.</summary>
    internal static NodeRole? ParseRole(string? text) => text?.Trim().ToLowerInvariant() switch
    {
        "both" => NodeRole.Both,
        "control" => NodeRole.Control,
        "data" => NodeRole.Data,
        _ => null,
    };

    private static async Task<int> RunWithStoreAsync(string connection, string? importPath, string adminUrl, int? port, string? nodeId, long? adminMaxBody, PortalOptionSet.Values portal, NodeRole role, TimeSpan? pollInterval, StoreNode.NodeApiSettings? nodeApi, PruneCommand.Retention? retention, CancellationToken ct)
    {
        // Lines on standard error naming the step a slow start waits for; disposed once the start ends either way.
        using var progress = new StartupProgress(Console.Error, "opening the store (and bringing its tables up to date)");
        IConfigStore store;
        try
        {
            store = await ConfigStores.OpenAsync(connection, TimeProvider.System, ct).ConfigureAwait(false);
        }
        catch (ConfigStoreException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        await using var _ = store.ConfigureAwait(false);

        // Relative file names in the configuration resolve against the imported file's folder, or the working directory.
        var baseDirectory = importPath is null ? Directory.GetCurrentDirectory() : Path.GetDirectoryName(importPath)!;
        progress.Step("reading the store's revision");
        if (importPath is not null && await store.CurrentRevisionAsync(ct).ConfigureAwait(false) == 0)
        {
            progress.Step($"importing {importPath} into the store");
            var (commit, errors) = await StoreConfig.ImportAsync(
                store, await File.ReadAllTextAsync(importPath, ct).ConfigureAwait(false), baseDirectory, null,
                "gatehouse run", $"import {Path.GetFileName(importPath)}", ct).ConfigureAwait(false);
            if (errors.Count > 0)
            {
                return Refuse(importPath, errors);
            }

            Console.Out.WriteLine(commit!.Conflict
                ? "The store was filled by someone else meanwhile; not importing."
                : $"Imported {importPath} into the store as revision {commit.Revision}.");
        }

        StoreNode? started;
        StoreNode.Refusal? refusal;
        try
        {
            (started, refusal) = await StoreNode.StartAsync(
                new StoreNode.Options(store, baseDirectory, null, port, adminUrl, nodeId, adminMaxBody ?? 1024 * 1024, portal.Url, portal.GatewayUrl, portal.Mail, role, pollInterval, nodeApi, progress), ct).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            Console.Error.WriteLine(StoreNode.CannotListen(e));
            return 2;
        }
        catch (NodeIdInUseException e)
        {
            Console.Error.WriteLine(e.Message);
            return 2;
        }

        if (refusal is not null)
        {
            return Refuse($"revision {refusal.Revision} of the store", refusal.Errors);
        }

        await using var node = started!;
        progress.Dispose();
        switch (node.Role)
        {
            case NodeRole.Control:
                Console.Out.WriteLine($"Gatehouse control plane (store revision {node.Revision}): admin API on {node.AdminUrl}; no public listener (--role control). Ctrl+C stops it.");
                Console.Out.WriteLine(node.PortalUrl is null ? "Developer portal off (--no-portal)." : $"Developer portal on {node.PortalUrl}; admin console on {node.AdminUrl}/console.");
                break;
            case NodeRole.Data:
                var health = node.Host.HealthUrl is { } healthUrl ? $"; /ready and /live on {healthUrl}" : "";
                Console.Out.WriteLine($"Gatehouse data node is listening on {string.Join(", ", node.Host.Urls)} (store revision {node.Revision}{health}); no admin API (--role data). Ctrl+C stops it.");
                Console.Out.WriteLine($"Reporting to the store as node {node.NodeId} (GET /admin/nodes on a control plane).");
                break;
            default:
                Console.Out.WriteLine($"Gatehouse is listening on {string.Join(", ", node.Host.Urls)} (store revision {node.Revision}); admin API on {node.AdminUrl}. Ctrl+C stops it.");
                Console.Out.WriteLine($"Reporting to the store as node {node.NodeId} (GET /admin/nodes).");
                Console.Out.WriteLine(node.PortalUrl is null ? "Developer portal off (--no-portal)." : $"Developer portal on {node.PortalUrl}; admin console on {node.AdminUrl}/console.");
                break;
        }

        if (node.GeneratedToken is not null)
        {
            Console.Out.WriteLine($"Admin token (shown once; only its hash is kept): {node.GeneratedToken}");
        }

        if (node.NodeApiUrl is { } nodeApiUrl)
        {
            Console.Out.WriteLine($"Node API for hybrid data nodes on {nodeApiUrl}; snapshots signed with {node.SigningKeyFile}{(node.Signer!.Generated ? " (generated now)" : "")}, key id {node.Signer.KeyId}; data nodes pin {Path.ChangeExtension(node.SigningKeyFile!, ".pub.pem")}.");
        }

        using var stopPruning = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var pruning = retention is { } keep ? PruneCommand.EveryHourAsync(store, keep, TimeProvider.System, stopPruning.Token) : Task.CompletedTask;
        await node.WaitForShutdownAsync(ct).ConfigureAwait(false);
        await stopPruning.CancelAsync().ConfigureAwait(false);
        await pruning.ConfigureAwait(false);
        return 0;
    }

    private static int Refuse(string what, IReadOnlyList<ConfigError> errors)
    {
        ConfigErrorOutput.Print(what, errors, "not starting.");
        return 2;
    }
}
