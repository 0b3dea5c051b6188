namespace Gatehouse.Management.Stores;

/// <summary>
/// A named admin API token (beside the one admin token of <c>GATEHOUSE_ADMIN_TOKEN</c>): its name, what it may do, when it
/// was issued and when it stops working (null: never). The token itself is never kept, only its SHA-256.
/// </summary>
public sealed record AdminApiToken(string Name, AdminTokenScope Scope, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

/// <summary>What a named admin token may do.</summary>
public enum AdminTokenScope
{
    /// <summary>GET and HEAD: read the configuration, revisions, analytics, nodes and the audit log.</summary>
    Read,

    /// <summary>Everything the admin token may do but issue and revoke admin tokens.</summary>
    Write,
}
