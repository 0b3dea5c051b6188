using Gatehouse.Management.Nodes;
using Gatehouse.Management.Registrations;
using Gatehouse.Management.Stores;
using Gatehouse.Model.Config;
using Gatehouse.Model.Validation;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Management.Admin;

/// <summary>How to start the admin API.</summary>
public sealed record AdminApiOptions
{
    /// <summary>The admin listener used when none is given. Loopback only: the admin API never shares the public port.</summary>
    public const string DefaultUrl = "http://127.0.0.1:8081";

    /// <summary>Where the admin API listens: <c>http://ADDRESS:PORT</c> (port 0 picks a free one). Default <see cref="DefaultUrl"/>.</summary>
    public string Url { get; init; } = DefaultUrl;

    /// <summary>
    /// The console's address as administrators reach it (an origin: <c>https://admin.example.com</c>), for the links in
    /// console invitations and password resets (<c>--console-public-url</c>). Null: the address and port each request
    /// reached on this machine, as its connection says (never its <c>Host</c> header).
    /// </summary>
    public string? PublicUrl { get; init; }

    /// <summary>Single sign-on to the console with an OpenID Connect provider (<c>--console-oidc-*</c>); null: none.</summary>
    public Web.SingleSignOnOptions? Sso { get; init; }

    /// <summary>The store every change is committed to; the admin API does not own it (does not dispose it).</summary>
    public required IConfigStore Store { get; init; }

    /// <summary>Lower-case hex SHA-256 of the admin token (see <see cref="AdminToken"/>). Required.</summary>
    public required string TokenSha256 { get; init; }

    /// <summary>
    /// Called with each newly committed revision's config, in revision order, to make the running gateway serve it;
    /// returns the gateway's errors (empty when applied). Null when no gateway runs in this process.
    /// </summary>
    public Func<GatehouseConfig, IReadOnlyList<ConfigError>>? Apply { get; init; }

    /// <summary>Called after each revision this process commits (the node API wakes the data nodes waiting for one). Default: none.</summary>
    public Action<long>? Committed { get; init; }

    /// <summary>Largest request body accepted; larger ones get 413. Default 1 MiB.</summary>
    public long MaxBodySize { get; init; } = 1024 * 1024;

    /// <summary>
    /// Drops the gateway's cached responses of a route (every one, or only a request path's); returns how many went, or
    /// null when the cache is shared (Redis: the purge reaches every node, uncounted). Throws
    /// <see cref="InvalidOperationException"/> (then purges answer 503) when the shared cache did not take it; it may wait a few
    /// seconds for the shared cache's first connection (asynchronously).
    /// Null when no gateway runs beside the admin API (then purges answer 503).
    /// </summary>
    public Func<string, string?, CancellationToken, Task<int?>>? PurgeCache { get; init; }

    /// <summary>Where relative file names in the configuration (certificates, OpenAPI files) resolve. Default: the working directory.</summary>
    public string BaseDirectory { get; init; } = Directory.GetCurrentDirectory();

    /// <summary>Where <c>${NAME}</c> is looked up when a candidate config is loaded. Default: the process environment.</summary>
    public Func<string, string?>? Environment { get; init; }

    /// <summary>Extra logging setup (tests capture logs here). By default warnings and errors go to the console.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>This process's node, told of every revision the gateway applies. Null when no gateway runs in this process.</summary>
    public NodeReporter? Node { get; init; }

    /// <summary>
    /// The heartbeat period nodes report with; <c>GET /admin/nodes</c> lists a node as stale after
    /// <see cref="NodeReporter.StaleAfterIntervals"/> of them without a report. Default <see cref="NodeReporter.DefaultInterval"/> (15 s).
    /// </summary>
    public TimeSpan NodeInterval { get; init; } = NodeReporter.DefaultInterval;

    /// <summary>
    /// This process's registration follower, asked to read the store after each registration or deregistration so that
    /// the change is routable here when the answer is sent. Null when no gateway runs in this process.
    /// </summary>
    public RegistrationFollower? Registrations { get; init; }

    /// <summary>
    /// This process's consumer follower (portal applications → the gateway here), asked to read the store after each
    /// consumer change made here, so the change is served here when the answer is sent. Null when no gateway runs here.
    /// </summary>
    public Consumers.ConsumerFollower? Consumers { get; init; }

    /// <summary>The revision the gateway in this process serves when the admin API starts (0 when none).</summary>
    public long ServedRevision { get; init; }

    /// <summary>
    /// How often the store is asked whether another control plane committed a newer revision, which this process then
    /// loads and hands to <see cref="Apply"/>; several nodes sharing one store converge this way. On PostgreSQL a
    /// commit's NOTIFY wakes the follower at once as well, and this poll is the fallback (<see cref="Revisions.RevisionFollower"/>).
    /// Default 2 s; <see cref="Timeout.InfiniteTimeSpan"/> turns it off.
    /// </summary>
    public TimeSpan FollowInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Tracks whether the store answers: shared with the node's other loops so that an outage is logged once, and
    /// each loop backs off while it lasts. Default: one of the admin API's own.
    /// </summary>
    public StoreHealth? Health { get; init; }

    /// <summary>Answers <c>GET /metrics</c> (the gateway's Prometheus text); null when no gateway in this process serves metrics.</summary>
    public Func<HttpContext, Task>? Metrics { get; init; }

    /// <summary>An application's plan limits as they stand on this node, for its usage report; null when no gateway runs in this process.</summary>
    public Func<string, IReadOnlyList<Model.Usage.QuotaWindow>>? Limits { get; init; }

    /// <summary>
    /// Whether the node is ready for traffic, for the unauthenticated <c>GET /ready</c> (503 once it drains); null
    /// answers ready while the admin API runs.
    /// </summary>
    public Func<bool>? Ready { get; init; }

    /// <summary>Starts the node's graceful drain, for <c>POST /admin/drain</c>; null when the node cannot drain (404).</summary>
    public Action? Drain { get; init; }

    /// <summary>The clock that decides whether a node is stale and when a registration expires; it should be the store's. Default: the system clock.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;
}
