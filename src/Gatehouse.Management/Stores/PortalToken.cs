namespace Gatehouse.Management.Stores;

/// <summary>
/// A portal account's own API token, for scripts and pipelines that manage its applications through the portal's JSON API
/// (<c>/api/v1</c>). Only the SHA-256 of the token is kept; <see cref="Prefix"/> is its first characters, shown so that
/// its owner can tell tokens apart. <see cref="LastUsedAt"/> is written at most once an hour.
/// </summary>
public sealed record PortalToken(string Account, string Name, string Prefix, PortalTokenScope Scope, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt,
    DateTimeOffset? LastUsedAt = null);

/// <summary>What a portal token may do with its account's applications.</summary>
public enum PortalTokenScope
{
    /// <summary>GET only: the account, the plans, the applications and their usage.</summary>
    Read,

    /// <summary>Everything the account's applications' pages may do: create, change plan, rotate and revoke keys, delete.</summary>
    Write,
}

/// <summary>What <see cref="IConsumerStore.AddPortalTokenAsync"/> did.</summary>
public enum PortalTokenAdded
{
    /// <summary>Kept.</summary>
    Added,

    /// <summary>The account already has a token of that name: nothing changed.</summary>
    NameTaken,

    /// <summary>The account already has as many tokens as it may: nothing changed.</summary>
    TooMany,

    /// <summary>The account does not exist (deleted meanwhile): nothing changed.</summary>
    NoAccount,
}
