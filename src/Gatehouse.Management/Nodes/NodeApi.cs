using System.Globalization;
using System.Net;
using System.Security.Cryptography.X509Certificates;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Gatehouse.Management.Admin;
using Gatehouse.Management.Revisions;
using Gatehouse.Model.Access;
using Gatehouse.Model.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Nodes;

/// <summary>
/// The node API on the control plane, its own HTTPS listener: hybrid data nodes authenticate with a node token
/// (<c>Authorization: Bearer ghn_…</c>, stored as SHA-256 only), name themselves in <c>Gatehouse-Node</c>, and
/// <list type="bullet">
/// <item><c>GET /node/v1/config?after=N</c>: the signed snapshot of the newest revision when it is newer than N, else
/// waits for one (long poll, at most <see cref="NodeApiOptions.LongPoll"/>) and answers 204;</item>
/// <item><c>POST /node/v1/status</c>: the revision the node serves and its last refusal, kept as its row of <c>GET /admin/nodes</c>;</item>
/// <item><c>POST /node/v1/usage</c>: one entry of the node's usage journal;</item>
/// <item><c>GET /node/v1/consumers?after=N</c>: portal applications changed after consumer change N, signed (long poll);</item>
/// <item><c>GET /node/v1/registrations</c>: every live self-registered target, signed;</item>
/// <item><c>GET /node/v1/cache-purges?after=N</c>: the purges of the gateways' memory caches recorded after purge N, but
/// the node's own, signed (long poll); <c>POST /node/v1/cache-purges</c>: the node's own, recorded for every other node;</item>
/// <item><c>POST /node/v1/limits/{reserve,add,heartbeat}</c>: the control plane's counter engine, for cluster limits.</item>
/// </list>
/// A token is bound to one node id (at issue, or by its first use); any other id is refused.
/// </summary>
public sealed partial class NodeApi : IAsyncDisposable
{
    /// <summary>The header a node names itself in.</summary>
    public const string NodeHeader = "Gatehouse-Node";

    /// <summary>
    /// The header a node names its process in: a random id each start makes (<see cref="NodeLease.NewInstance"/>). Two
    /// processes under one node id would overwrite each other's usage rows, so only the one that holds the id (by its
    /// reports) reports and uploads usage under it; the other gets 409 <c>node-id-clash</c>.
    /// </summary>
    public const string InstanceHeader = "Gatehouse-Node-Instance";

    private readonly WebApplication _app;
    private readonly RevisionWatch _watch;
    private readonly RevisionWatch _consumers;
    private readonly RevisionWatch? _purges;

    private NodeApi(WebApplication app, RevisionWatch watch, RevisionWatch consumers, RevisionWatch? purges, string url)
    {
        _app = app;
        _watch = watch;
        _consumers = consumers;
        _purges = purges;
        Url = url;
    }

    /// <summary>The address actually bound.</summary>
    public string Url { get; }

    /// <summary>Tells the node API that this process committed a revision, so waiting nodes get it at once.</summary>
    public void Committed() => _watch.Raise();

    /// <summary>Tells the node API that this process recorded a cache purge, so waiting nodes get it at once.</summary>
    public void CachePurged() => _purges?.Raise();

    public static async Task<NodeApi> StartAsync(NodeApiOptions options, ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (endpoint, https) = ParseUrl(options.Url);
        var certificate = options.Certificate;
        if (https && certificate is null)
        {
            throw new ArgumentException($"The node API at {options.Url} is https: give its certificate and key (--node-api-cert FILE --node-api-key FILE, PEM).");
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = Environments.Production, Args = [] });
        builder.Logging.ClearProviders();
        if (loggers is not null)
        {
            builder.Services.AddSingleton(loggers);
        }

        builder.WebHost.UseSockets(o => o.UnsafePreferInlineScheduling = false);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // A usage upload is one flush of the node's rollups: bounded by its pending rows, a few MiB at most.
            kestrel.Limits.MaxRequestBodySize = 16 * 1024 * 1024;
            kestrel.Listen(endpoint, listen =>
            {
                if (https)
                {
                    listen.UseHttps(new Microsoft.AspNetCore.Server.Kestrel.Https.TlsHandshakeCallbackOptions
                    {
                        OnConnection = _ => ValueTask.FromResult(new System.Net.Security.SslServerAuthenticationOptions { ServerCertificateContext = certificate!() }),
                    });
                }
            });
        });
        var app = builder.Build();
        var watch = new RevisionWatch(options.Store, options.Health, options.PollInterval);
        // The newest consumer change, polled (ConsumerPollInterval) and, on PostgreSQL, woken by NOTIFY gatehouse_consumers.
        var consumers = new RevisionWatch(options.Store, options.Health, options.ConsumerPollInterval, options.Store.NewestConsumerSeqAsync,
            options.Store is Stores.IConsumerNotifications notifications ? notifications.ListenConsumersAsync : null);
        // The newest cache purge, polled as often as the consumer changes and, on PostgreSQL, woken by NOTIFY gatehouse_cache_purges.
        var purgeStore = options.Store as Stores.ICachePurgeStore;
        var purges = purgeStore is null ? null
            : new RevisionWatch(options.Store, options.Health, options.ConsumerPollInterval, purgeStore.NewestCachePurgeAsync, purgeStore.ListenCachePurgesAsync);
        var cache = new SnapshotCache();
        var registrations = new RegistrationCache();
        var bindings = new System.Collections.Concurrent.ConcurrentDictionary<string, string>(StringComparer.Ordinal);
        app.MapGet("/node/v1/config", context => ConfigAsync(context, options, bindings, watch, cache));
        app.MapPost("/node/v1/status", context => StatusAsync(context, options, bindings));
        app.MapPost("/node/v1/usage", context => UsageAsync(context, options, bindings));
        app.MapGet("/node/v1/consumers", context => ConsumersAsync(context, options, bindings, consumers));
        app.MapGet("/node/v1/registrations", context => RegistrationsAsync(context, options, bindings, registrations));
        MapLimits(app, options, bindings);
        if (purges is not null)
        {
            MapCachePurges(app, options, bindings, purgeStore!, purges);
        }

        app.MapFallback(context => new AdminProblem(StatusCodes.Status404NotFound, "node-not-found", "Not found",
            $"The node API has no {context.Request.Method} {context.Request.Path}; it serves GET /node/v1/config, GET /node/v1/consumers, GET /node/v1/registrations, POST /node/v1/status, POST /node/v1/usage, GET and POST /node/v1/cache-purges and POST /node/v1/limits/{{reserve,add,heartbeat}}.").WriteAsync(context));
        watch.Start();
        consumers.Start();
        purges?.Start();
        try
        {
            await app.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await watch.DisposeAsync().ConfigureAwait(false);
            await consumers.DisposeAsync().ConfigureAwait(false);
            if (purges is not null)
            {
                await purges.DisposeAsync().ConfigureAwait(false);
            }

            await app.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        var url = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault() ?? options.Url;
        return new NodeApi(app, watch, consumers, purges, url);
    }

    // bindings: token hash to the node id it is bound to, as learnt from the store (a binding never changes for one hash:
    // issuing the name again makes a new token, a new hash). Whether the token still exists is asked every time.
    private static async Task<(string Token, string Node)?> AuthenticateAsync(HttpContext context, NodeApiOptions options, System.Collections.Concurrent.ConcurrentDictionary<string, string> bindings)
    {
        var authorization = context.Request.Headers.Authorization.ToString();
        var token = authorization.StartsWith("Bearer ", StringComparison.Ordinal) ? authorization["Bearer ".Length..].Trim() : "";
        var hash = token.Length == 0 ? "" : ApiKeyHash.Sha256Hex(token);
        var name = token.Length == 0 ? null : await options.Store.FindNodeTokenAsync(hash, context.RequestAborted).ConfigureAwait(false);
        if (name is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"gatehouse-node\"";
            await new AdminProblem(StatusCodes.Status401Unauthorized, "node-unauthorized", "Node token required",
                "Send a node token as 'Authorization: Bearer ghn_…' (issued with POST /admin/node-tokens on the admin API; a revoked token is refused).")
                .WriteAsync(context).ConfigureAwait(false);
            return null;
        }

        var node = context.Request.Headers[NodeHeader].ToString();
        if (!NodeId().IsMatch(node))
        {
            await new AdminProblem(StatusCodes.Status400BadRequest, "node-bad-request", "Node id required",
                $"Name the node in the '{NodeHeader}' header: 1 to 100 letters, digits, '.', '_', ':' or '-'.").WriteAsync(context).ConfigureAwait(false);
            return null;
        }

        if (!bindings.TryGetValue(hash, out var bound))
        {
            bound = await options.Store.BindNodeTokenAsync(name, node, context.RequestAborted).ConfigureAwait(false);
            if (bound is not null)
            {
                bindings[hash] = bound;
            }
        }

        if (!string.Equals(bound, node, StringComparison.Ordinal))
        {
            await new AdminProblem(StatusCodes.Status403Forbidden, "node-token-mismatch", "Node token bound to another node",
                $"The node token '{name}' is bound to node '{bound ?? "(revoked)"}', so node '{node}' cannot use it. Give each data node its own token (POST /admin/node-tokens with {{\"name\": …, \"node\": \"{node}\"}}), or run this node with --node-id {bound}.")
                .WriteAsync(context).ConfigureAwait(false);
            return null;
        }

        return (name, node);
    }

    private static async Task ConfigAsync(HttpContext context, NodeApiOptions options, System.Collections.Concurrent.ConcurrentDictionary<string, string> bindings, RevisionWatch watch, SnapshotCache cache)
    {
        if (await AuthenticateAsync(context, options, bindings).ConfigureAwait(false) is null)
        {
            return;
        }

        var afterText = context.Request.Query["after"].ToString();
        long after = 0;
        if (afterText.Length > 0 && !long.TryParse(afterText, NumberStyles.None, CultureInfo.InvariantCulture, out after))
        {
            await AdminRequests.BadParameter($"'after' must be a revision number (0 or more), not '{afterText}'.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var revision = await watch.WaitNewerAsync(after, options.LongPoll, context.RequestAborted).ConfigureAwait(false);
        if (revision <= after)
        {
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        var envelope = await cache.GetAsync(revision, options, context.RequestAborted).ConfigureAwait(false);
        context.Response.ContentType = "application/json";
        context.Response.Headers["Gatehouse-Revision"] = revision.ToString(CultureInfo.InvariantCulture);
        context.Response.Headers.CacheControl = "no-store";
        await context.Response.Body.WriteAsync(envelope, context.RequestAborted).ConfigureAwait(false);
    }

    private static async Task StatusAsync(HttpContext context, NodeApiOptions options, System.Collections.Concurrent.ConcurrentDictionary<string, string> bindings)
    {
        if (await AuthenticateAsync(context, options, bindings).ConfigureAwait(false) is not { } who)
        {
            return;
        }

        var (body, _, problem) = await AdminRequests.ReadObjectAsync(context, 64 * 1024).ConfigureAwait(false);
        if (problem is not null)
        {
            await problem.WriteAsync(context).ConfigureAwait(false);
            return;
        }

        if (body!["revision"] is not JsonValue value || !value.TryGetValue<long>(out var revision) || revision < 0)
        {
            await AdminRequests.BadParameter("'revision' (the revision the node serves, 0 for none) is required.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        // The node's own account of itself, as GET /admin/nodes shows it, with the token it used.
        var info = new JsonObject { ["kind"] = "hybrid", ["token"] = who.Token };
        foreach (var (key, node) in body)
        {
            if (key is not "revision" and not "kind" and not "token")
            {
                info[key] = node?.DeepClone();
            }
        }

        if (Instance(context) is not { } instance)
        {
            // A node that names no process (an older version) reports as before.
            await options.Store.UpsertNodeAsync(who.Node, revision, info.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = StatusCodes.Status204NoContent;
            return;
        }

        info["instance"] = instance;
        var now = DateTimeOffset.UtcNow;
        var holder = await options.Store.ClaimNodeAsync(who.Node, instance, revision, info.ToJsonString(), now - NodeReporter.DefaultInterval * NodeReporter.StaleAfterIntervals, null, context.RequestAborted).ConfigureAwait(false);
        if (holder is not null)
        {
            // Shown on the holder's row (GET /admin/nodes, the console) for as long as this process keeps reporting.
            await options.Store.MarkNodeClashAsync(who.Node, new JsonObject { ["instance"] = instance, ["host"] = info["host"]?.DeepClone(), ["pid"] = info["pid"]?.DeepClone(), ["at"] = now }.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
            await Clash(who.Node, holder).WriteAsync(context).ConfigureAwait(false);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    private static string? Instance(HttpContext context) =>
        context.Request.Headers[InstanceHeader].ToString() is { Length: > 0 } value && InstanceId().IsMatch(value) ? value : null;

    private static AdminProblem Clash(string node, Stores.NodeInfo holder) =>
        new(StatusCodes.Status409Conflict, "node-id-clash", "Node id in use by another process", NodeLease.InUse(node, holder, TimeProvider.System));

    // One journal entry of the node's usage: applied once per (node, sequence), in order; a repeat is acknowledged too,
    // so a node that crashed after sending (and before hearing the answer) forgets it when it sends it again.
    private static async Task UsageAsync(HttpContext context, NodeApiOptions options, System.Collections.Concurrent.ConcurrentDictionary<string, string> bindings)
    {
        if (await AuthenticateAsync(context, options, bindings).ConfigureAwait(false) is not { } who)
        {
            return;
        }

        using var reader = new StreamReader(context.Request.Body);
        var upload = UsageUpload.Parse(await reader.ReadToEndAsync(context.RequestAborted).ConfigureAwait(false), who.Node);
        if (upload is null || upload.Sequence <= 0)
        {
            await AdminRequests.BadParameter("The body must be a usage upload: {\"sequence\": N (1 or more), \"rows\": [...]}.").WriteAsync(context).ConfigureAwait(false);
            return;
        }

        var instance = Instance(context);
        var applied = instance is not null && options.Store is Stores.SqlConfigStore sql
            ? await sql.ApplyNodeUsageAsync(who.Node, instance, upload.Sequence, upload.Rows, upload.Models, context.RequestAborted).ConfigureAwait(false)
            : await options.Store.ApplyNodeUsageAsync(who.Node, upload.Sequence, upload.Rows, upload.Models, context.RequestAborted).ConfigureAwait(false);
        if (applied is null)
        {
            // Not written, and the sequence not used up: the node keeps the entry and sends it again, which succeeds once
            // its process holds the id (a node restarted in place, once its predecessor's row is stale).
            var holder = (await options.Store.ListNodesAsync(context.RequestAborted).ConfigureAwait(false)).FirstOrDefault(n => n.Id == who.Node)
                ?? new Stores.NodeInfo(who.Node, 0, DateTimeOffset.UtcNow, "{}");
            await Clash(who.Node, holder).WriteAsync(context).ConfigureAwait(false);
            return;
        }

        await AdminRequests.WriteJsonAsync(context, new JsonObject { ["sequence"] = upload.Sequence, ["applied"] = applied }).ConfigureAwait(false);
    }

    private static (IPEndPoint Endpoint, bool Https) ParseUrl(string url)
    {
        if (!Uri.TryCreate(url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttps && uri.Scheme != Uri.UriSchemeHttp))
        {
            throw new ArgumentException($"The node API URL '{url}' is not https://ADDRESS:PORT (for example https://0.0.0.0:8443).");
        }

        var address = uri.IsLoopback && uri.HostNameType == UriHostNameType.Dns ? IPAddress.Loopback
            : IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) ? ip
            : throw new ArgumentException($"The node API URL '{url}' must name an IP address or localhost.");
        if (uri.Scheme == Uri.UriSchemeHttp && !IPAddress.IsLoopback(address))
        {
            throw new ArgumentException($"The node API URL '{url}' is http on a non-loopback address; node tokens and configs would cross the network in clear. Use https:// with --node-api-cert and --node-api-key.");
        }

        return (new IPEndPoint(address, uri.Port), uri.Scheme == Uri.UriSchemeHttps);
    }

    [GeneratedRegex("^[A-Za-z0-9._:-]{1,100}$")]
    private static partial Regex NodeId();

    [GeneratedRegex("^[A-Za-z0-9]{1,64}$")]
    private static partial Regex InstanceId();

    public async ValueTask DisposeAsync()
    {
        await _watch.DisposeAsync().ConfigureAwait(false);
        await _consumers.DisposeAsync().ConfigureAwait(false);
        if (_purges is not null)
        {
            await _purges.DisposeAsync().ConfigureAwait(false);
        }

        await _app.StopAsync().ConfigureAwait(false);
        await _app.DisposeAsync().ConfigureAwait(false);
    }

    // The newest revision's envelope, signed once however many nodes fetch it.
    private sealed class SnapshotCache
    {
        private readonly SemaphoreSlim _lock = new(1, 1);
        private (long Revision, byte[] Envelope)? _last;

        public async Task<byte[]> GetAsync(long revision, NodeApiOptions options, CancellationToken cancellationToken)
        {
            if (_last is { } known && known.Revision == revision)
            {
                return known.Envelope;
            }

            await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_last is { } meanwhile && meanwhile.Revision == revision)
                {
                    return meanwhile.Envelope;
                }

                var (_, document) = await StoreConfig.ComposeAsync(options.Store, revision, cancellationToken).ConfigureAwait(false);
                var envelope = new SignedSnapshot(revision, DateTimeOffset.UtcNow, document).Sign(options.Signer.Key);
                if (revision >= (_last?.Revision ?? 0))
                {
                    _last = (revision, envelope);
                }

                return envelope;
            }
            finally
            {
                _lock.Release();
            }
        }
    }
}
