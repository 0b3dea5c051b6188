using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Hosting;
using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Cli.Hybrid;

/// <summary>
/// A data node that phones home (<c>gatehouse run --role data --control-plane URL --node-token TOKEN</c>): it never
/// sees the database. It serves its last good config from disk at start, fetches newer ones from the control plane's
/// node API by long poll, accepts only snapshots signed by the pinned key and newer than the one it serves, keeps each
/// accepted one on disk, and reports what it serves and what it refused. <c>/ready</c> is 503 until it has a config.
/// </summary>
internal sealed partial class HybridNode : IAsyncDisposable
{
    /// <summary>How often the node reports itself when nothing changes (it shows as stale after 3 of them).</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(15);

    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(25);

    private readonly Options _options;
    private readonly SnapshotFolder _folder;
    private readonly HttpClient _http;
    private readonly UsageJournal _usage;
    private ConsumerFeed _consumers = null!;
    private RegistrationFeed _registrations = null!;
    private CachePurgeFeed _purges = null!;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _report = new(0, 1);
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    private GatewayHost _host = null!;
    private long _revision;
    private volatile bool _hasConfig;
    private volatile JsonObject? _refused;
    private long _ask;
    private bool _clashLogged;
    private Task _sync = Task.CompletedTask;
    private Task _reporter = Task.CompletedTask;

    public sealed record Options(
        Uri ControlPlane,
        string Token,
        ECDsa PinnedKey,
        X509Certificate2? ControlPlaneCa,
        string StateDirectory,
        string NodeId,
        int? Port,
        string HealthUrl,
        string BaseDirectory,
        bool ClusterLimits = false);

    private HybridNode(Options options, ILogger logger, HttpClient http, UsageJournal usage)
    {
        _options = options;
        _folder = new SnapshotFolder(options.StateDirectory);
        _logger = logger;
        _http = http;
        _usage = usage;
    }

    private static HttpClient CreateClient(Options options)
    {
        var http = new HttpClient(Handler(options.ControlPlaneCa), disposeHandler: true) { Timeout = LongPoll + TimeSpan.FromSeconds(15) };
        http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", options.Token);
        http.DefaultRequestHeaders.Add(Management.Nodes.NodeApi.NodeHeader, options.NodeId);
        // This node's state folder, so that the control plane takes reports and usage under the node id from one of them
        // only: the journal and its sequence numbers live there, so a restart in place (same folder) is the same node
        // at once, and another process with a folder of its own is another node.
        http.DefaultRequestHeaders.Add(Management.Nodes.NodeApi.InstanceHeader, Instance(options.StateDirectory));
        return http;
    }

    /// <summary>The file in the state folder that names this node's instance to the control plane.</summary>
    public const string InstanceFileName = "instance";

    // Made once per state folder (temp file, then rename), read at every start after.
    private static string Instance(string folder)
    {
        var path = Path.Combine(folder, InstanceFileName);
        if (File.Exists(path) && File.ReadAllText(path).Trim() is { Length: > 0 and <= 64 } kept && kept.All(char.IsAsciiLetterOrDigit))
        {
            return kept;
        }

        var instance = Management.Nodes.NodeLease.NewInstance();
        StateFiles.WriteAtomically(path, Encoding.ASCII.GetBytes(instance));
        return instance;
    }

    // One journal entry to the node API; true when acknowledged (applied now or before). A 400 means the entry can never
    // be applied (it is logged and dropped); anything else is tried again.
    private static async Task<bool> UploadAsync(HttpClient http, Options options, ILogger? logger, UsageUpload upload, CancellationToken ct)
    {
        using var content = new StringContent(upload.ToJson(), Encoding.UTF8, "application/json");
        using var response = await http.PostAsync(new Uri(options.ControlPlane, "node/v1/usage"), content, ct).ConfigureAwait(false);
        if (response.StatusCode == HttpStatusCode.BadRequest && logger is not null)
        {
            LogUsageRefused(logger, upload.Sequence, await response.Content.ReadAsStringAsync(ct).ConfigureAwait(false));
            return true;
        }

        return response.IsSuccessStatusCode;
    }

    public GatewayHost Host => _host;

    /// <summary>The revision served; 0 while the node has no config.</summary>
    public long Revision => Interlocked.Read(ref _revision);

    /// <summary>Where the served revision came from at start: "disk", or null when the node started without one.</summary>
    public string? StartedFrom { get; private set; }

    /// <summary>The file in the state folder that keeps this node's quota counts across restarts.</summary>
    public const string QuotaFileName = "quota-counts.db";

    public static async Task<HybridNode> StartAsync(Options options, CancellationToken ct)
    {
        // The host's logging exists only once it runs; until then (reading the disk) skipped files are kept and logged after.
        var skipped = new List<(string File, string Why)>();
        var fromDisk = new SnapshotFolder(options.StateDirectory).LoadNewest(
            options.PinnedKey, snapshot => Load(snapshot, options) is { IsValid: true } loaded ? loaded.Config : null, (file, why) => skipped.Add((file, why)));
        HybridNode? node = null;
        var http = CreateClient(options);
        ILogger? usageLogger = null;
        var usage = new UsageJournal(options.StateDirectory, (upload, token) => UploadAsync(http, options, usageLogger, upload, token));
        GatewayHost host;
        try
        {
            host = await GatewayHost.StartAsync(new GatewayHostOptions
            {
                ConfigureLogging = LogFormat.Apply,
                // Usage goes to the local journal, and from there to the control plane (UsageJournal).
                UsageSink = usage,
                // Until a config arrives: an empty one (every request 404), and /ready 503.
                Config = fromDisk?.Value ?? ConfigLoader.Load("version: 1\n", options.BaseDirectory).Config!,
                Port = options.Port,
                HealthUrl = options.HealthUrl,
                NodeId = options.NodeId,
                HasConfig = () => node?._hasConfig ?? fromDisk is not null,
                // --cluster-limits: limits with scope: cluster count in the control plane's engine (gateway.limits.redis,
                // when the config sets it, still comes first).
                LimitEngine = options.ClusterLimits ? new RemoteLimitEngine(http, options.ControlPlane) : null,
                // Quotas counted on this node (scope: node, or every limit without --cluster-limits) outlive a restart.
                QuotaStore = new Gatehouse.Management.Stores.QuotaFile(Path.Combine(options.StateDirectory, QuotaFileName)),
            }, ct).ConfigureAwait(false);
        }
        catch
        {
            http.Dispose();
            throw;
        }

        var logger = host.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Gatehouse.Hybrid");
        usageLogger = logger;
        usage.Logger = logger;
        usage.Start();
        node = new HybridNode(options, logger, http, usage) { _host = host };
        foreach (var (file, why) in skipped)
        {
            LogSkipped(logger, file, why);
        }

        // Portal applications (keys as hashes) and self-registered targets: beside the config, signed by the same key.
        node._consumers = new ConsumerFeed(http, options.ControlPlane, options.PinnedKey, options.StateDirectory, host.Runtime.Consumers) { Logger = logger };
        if (node._consumers.LoadFromDisk() is { } applications)
        {
            LogConsumersFromDisk(logger, applications, node._consumers.Seq);
        }

        node._registrations = new RegistrationFeed(http, options.ControlPlane, options.PinnedKey, host.Runtime.SetRegistrations) { Logger = logger };
        // Purges of the response cache: the store's log of them comes here, and this node's invalidations go there.
        node._purges = new CachePurgeFeed(http, options.ControlPlane, options.PinnedKey, options.NodeId, host.Runtime) { Logger = logger };

        if (fromDisk is { } found)
        {
            node._revision = found.Snapshot.Revision;
            node._ask = found.Snapshot.Revision;
            node._hasConfig = true;
            node.StartedFrom = "disk";
            LogFromDisk(logger, found.Snapshot.Revision, options.StateDirectory);
        }

        node._sync = Task.Run(node.SyncLoopAsync);
        node._consumers.Start();
        node._registrations.Start();
        node._purges.Start();
        node._reporter = Task.Run(node.ReportLoopAsync);
        return node;
    }

    private static ConfigLoadResult Load(SignedSnapshot snapshot, Options options) =>
        // Credentials in the config are ${NAME} references: each node resolves them from its own environment.
        ConfigLoader.Load(snapshot.Config, options.BaseDirectory);

    private async Task SyncLoopAsync()
    {
        var failures = 0;
        var refusals = 0;
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var after = Interlocked.Read(ref _ask);
                using var response = await _http.GetAsync(
                    new Uri(_options.ControlPlane, $"node/v1/config?after={after.ToString(CultureInfo.InvariantCulture)}"), _stop.Token).ConfigureAwait(false);
                if (failures > 0)
                {
                    LogReachable(_logger, _options.ControlPlane);
                    failures = 0;
                }

                if (response.IsSuccessStatusCode)
                {
                    refusals = 0;
                }

                switch (response.StatusCode)
                {
                    case HttpStatusCode.NoContent:
                        continue;
                    case HttpStatusCode.OK:
                        var header = response.Headers.TryGetValues("Gatehouse-Revision", out var values)
                            && long.TryParse(values.FirstOrDefault(), NumberStyles.None, CultureInfo.InvariantCulture, out var announced) ? announced : (long?)null;
                        var envelope = await response.Content.ReadAsByteArrayAsync(_stop.Token).ConfigureAwait(false);
                        // Loading and applying a config is long synchronous work that may block (an OpenAPI document
                        // fetched by URL); the read may have completed on a socket event-loop thread (inline completions,
                        // Program.cs), which the gateway's traffic needs: do it on the thread pool.
                        await Task.Run(() => Consider(envelope, header), _stop.Token).ConfigureAwait(false);
                        continue;
                    default:
                        var pause = RefusalPause(response.StatusCode, ++refusals);
                        LogRefusedByControlPlane(_logger, (int)response.StatusCode, await response.Content.ReadAsStringAsync(_stop.Token).ConfigureAwait(false), pause.TotalSeconds);
                        await Task.Delay(pause, _stop.Token).ConfigureAwait(false);
                        continue;
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException)
            {
                if (failures++ == 0)
                {
                    LogUnreachable(_logger, _options.ControlPlane, e.Message, Revision);
                }

                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(10_000, 250 * (1 << Math.Min(failures, 6)))), _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (Exception e)
            {
                // Anything else (a bug, an answer nothing above expected) must not end the loop: a node whose loop ended
                // would serve its revision forever without a word.
                LogSyncFailed(_logger, e, Revision);
                try
                {
                    await Task.Delay(TimeSpan.FromSeconds(10), _stop.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// How long to wait after the control plane answered with an error. A control plane that is starting or whose store is
    /// away answers 5xx for a moment: ask again soon (250 ms, doubling per answer in a row, at most 10 s), so a change
    /// made right after it is back reaches this node within a second. A refusal (401, 403: a revoked or misbound token)
    /// will not change by asking soon: 10 s.
    /// </summary>
    internal static TimeSpan RefusalPause(HttpStatusCode status, int refusals) =>
        (int)status < 500 ? TimeSpan.FromSeconds(10) : TimeSpan.FromMilliseconds(Math.Min(10_000, 250 << Math.Clamp(refusals - 1, 0, 6)));

    // Verify, then refuse older revisions, then load and apply; only then is it kept on disk and acknowledged.
    private void Consider(byte[] envelope, long? announced)
    {
        var (snapshot, refusal) = SignedSnapshot.Verify(envelope, _options.PinnedKey);
        if (snapshot is not null && snapshot.Revision <= Revision)
        {
            refusal = new SnapshotRefusal("rollback", $"revision {snapshot.Revision} is not newer than revision {Revision}, which this node serves");
        }

        if (snapshot is not null && refusal is null)
        {
            var loaded = Load(snapshot, _options);
            if (!loaded.IsValid)
            {
                _host.Runtime.Refused(); // Apply counts the refusals it makes itself
            }

            var errors = loaded.IsValid ? _host.Runtime.Apply(loaded.Config!) : loaded.Errors;
            if (errors.Count > 0)
            {
                refusal = new SnapshotRefusal("invalid-config", string.Join("; ", errors.Take(5).Select(e => e.ToString())));
            }
            else
            {
                _folder.Save(snapshot.Revision, envelope);
                Interlocked.Exchange(ref _revision, snapshot.Revision);
                Interlocked.Exchange(ref _ask, Math.Max(snapshot.Revision, announced ?? 0));
                _hasConfig = true;
                LogApplied(_logger, snapshot.Revision);
                Wake();
                return;
            }
        }

        if (refusal!.Code != "invalid-config")
        {
            // Beside a config file's refused reloads (gatehouse_config_reloads_total{outcome="refused"}), which also count
            // the snapshots whose config did not load or apply (above); an alert on refusals sees tampering too.
            _host.Runtime.Refused(NodeBatchMetrics.Reason(refusal.Code));
        }

        var which = snapshot?.Revision ?? announced;
        _refused = new JsonObject
        {
            ["revision"] = which,
            ["code"] = refusal!.Code,
            ["detail"] = refusal.Detail,
            ["at"] = DateTimeOffset.UtcNow,
        };
        LogRefused(_logger, which?.ToString(CultureInfo.InvariantCulture) ?? "?", refusal.Code, refusal.Detail, Revision);
        // Ask for what comes after the refused one, so the same bad answer is not fetched in a loop (the header is not
        // trusted for anything else: what is accepted is decided by the signed revision alone).
        if (announced is { } skip && skip > Interlocked.Read(ref _ask))
        {
            Interlocked.Exchange(ref _ask, skip);
        }

        Wake();
    }

    private void Wake()
    {
        try
        {
            _report.Release();
        }
        catch (SemaphoreFullException)
        {
            // A report is already due; it will carry the latest state.
        }
    }

    private async Task ReportLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                var body = new JsonObject
                {
                    ["revision"] = Revision,
                    ["state"] = _hasConfig ? "serving" : "waiting for a config",
                    ["refused"] = _refused?.DeepClone(),
                    ["startedFrom"] = StartedFrom,
                    ["consumers"] = _consumers.Seq,
                    ["consumersRefused"] = _consumers.Refused is { } c ? new JsonObject { ["code"] = c.Code, ["detail"] = c.Detail } : null,
                    ["registrationsRefused"] = _registrations.Refused is { } r ? new JsonObject { ["code"] = r.Code, ["detail"] = r.Detail } : null,
                    ["cachePurges"] = _purges.Seq,
                    ["cachePurgesRefused"] = _purges.Refused is { } p ? new JsonObject { ["code"] = p.Code, ["detail"] = p.Detail } : null,
                    ["host"] = Environment.MachineName,
                    ["pid"] = Environment.ProcessId,
                    ["startedAt"] = _startedAt,
                };
                using var content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json");
                using var response = await _http.PostAsync(new Uri(_options.ControlPlane, "node/v1/status"), content, _stop.Token).ConfigureAwait(false);
                if (response.StatusCode == HttpStatusCode.Conflict)
                {
                    // Another process runs under this node id: the control plane takes neither reports nor usage from
                    // this one (its usage waits in the journal, bounded), until the other stops.
                    if (!_clashLogged)
                    {
                        _clashLogged = true;
                        LogClash(_logger, await response.Content.ReadAsStringAsync(_stop.Token).ConfigureAwait(false));
                    }
                }
                else if (response.IsSuccessStatusCode && _clashLogged)
                {
                    _clashLogged = false;
                    LogClashOver(_logger, _options.NodeId);
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or IOException && !_stop.IsCancellationRequested)
            {
                // The sync loop says when the control plane is away; the next report carries the state again.
            }
            catch (OperationCanceledException)
            {
                return;
            }

            try
            {
                await _report.WaitAsync(ReportInterval, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    // The control plane's certificate chains to the system's roots, or to --control-plane-ca when given (a private CA
    // or a self-signed certificate). The host name must match either way.
    private static SocketsHttpHandler Handler(X509Certificate2? ca)
    {
        var handler = new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1), ConnectTimeout = TimeSpan.FromSeconds(5) };
        if (ca is not null)
        {
            handler.SslOptions.RemoteCertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (errors == SslPolicyErrors.None)
                {
                    return true;
                }

                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(ca);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                return chain.Build(certificate as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(certificate.GetRawCertData()));
            };
        }

        return handler;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _sync.ConfigureAwait(false);
        await _consumers.DisposeAsync().ConfigureAwait(false);
        await _registrations.DisposeAsync().ConfigureAwait(false);
        await _purges.DisposeAsync().ConfigureAwait(false);
        await _reporter.ConfigureAwait(false);
        // The gateway's last flush writes into the journal; what is not uploaded by then waits on disk for the next start.
        await _host.DisposeAsync().ConfigureAwait(false);
        await _usage.DisposeAsync().ConfigureAwait(false);
        _http.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The control plane refused usage upload {Sequence} as malformed ({Body}); it is dropped.")]
    private static partial void LogUsageRefused(ILogger logger, long sequence, string body);

    [LoggerMessage(Level = LogLevel.Error, Message = "The control plane refuses this node's reports and usage: {Problem} Its usage waits in the journal until this process holds the id.")]
    private static partial void LogClash(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "The control plane takes this node's reports under {Id} again.")]
    private static partial void LogClashOver(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving revision {Revision} from {Folder} (the last good config on disk).")]
    private static partial void LogFromDisk(ILogger logger, long revision, string folder);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving {Count} portal applications from disk (consumer change {Seq}).")]
    private static partial void LogConsumersFromDisk(ILogger logger, int count, long seq);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Skipped {File} on disk: {Why}.")]
    private static partial void LogSkipped(ILogger logger, string file, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "Revision {Revision} from the control plane is now served.")]
    private static partial void LogApplied(ILogger logger, long revision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused revision {Revision} from the control plane ({Code}: {Detail}); still serving revision {Served}.")]
    private static partial void LogRefused(ILogger logger, string revision, string code, string detail, long served);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The control plane {ControlPlane} is unreachable ({Reason}); serving revision {Revision} meanwhile and trying again.")]
    private static partial void LogUnreachable(ILogger logger, Uri controlPlane, string reason, long revision);

    [LoggerMessage(Level = LogLevel.Information, Message = "The control plane {ControlPlane} is reachable again.")]
    private static partial void LogReachable(ILogger logger, Uri controlPlane);

    [LoggerMessage(Level = LogLevel.Error, Message = "The control plane answered {Status}: {Body}; trying again in {Seconds} s.")]
    private static partial void LogRefusedByControlPlane(ILogger logger, int status, string body, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "Asking the control plane for a config failed unexpectedly; serving revision {Revision} meanwhile and trying again in 10 s.")]
    private static partial void LogSyncFailed(ILogger logger, Exception exception, long revision);
}
