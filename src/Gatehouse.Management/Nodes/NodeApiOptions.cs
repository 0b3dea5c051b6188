using Gatehouse.Management.Stores;

namespace Gatehouse.Management.Nodes;

/// <summary>How to start the node API, where hybrid data nodes fetch signed config and report (docs/nodes.md).</summary>
public sealed record NodeApiOptions
{
    /// <summary>Where it listens: <c>https://ADDRESS:PORT</c> (port 0 picks a free one). <c>http://</c> only on loopback, for a TLS terminator in front.</summary>
    public required string Url { get; init; }

    /// <summary>
    /// The certificate, with its chain, that each new https connection is served; required for https. The command line
    /// gives its listener certificate's, which reads <c>--node-api-cert</c> and <c>--node-api-key</c> again when they change.
    /// </summary>
    public Func<System.Net.Security.SslStreamCertificateContext>? Certificate { get; init; }

    /// <summary>The store whose revisions are served and where node reports go; not owned.</summary>
    public required IConfigStore Store { get; init; }

    /// <summary>Signs each snapshot; not owned.</summary>
    public required SnapshotSigner Signer { get; init; }

    /// <summary>
    /// The counter engine lent to hybrid nodes for their cluster limits (<c>POST /node/v1/limits/…</c>): the PostgreSQL
    /// store; null (a SQLite store) answers 503, and the nodes count with their limits' onEngineDown.
    /// </summary>
    public Model.Limits.ILimitEngine? LimitEngine { get; init; }

    /// <summary>Whether the store answers, shared with the process's other loops.</summary>
    public required StoreHealth Health { get; init; }

    /// <summary>The longest a config request waits for a newer revision before answering 204. Default 25 s.</summary>
    public TimeSpan LongPoll { get; init; } = TimeSpan.FromSeconds(25);

    /// <summary>How often the store is polled for the newest consumer change (portal applications and keys). Default 250 ms, like a store-backed node's.</summary>
    public TimeSpan ConsumerPollInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How often the store is polled for revisions when nothing else says so (PostgreSQL notifies). Default 2 s.</summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);
}
