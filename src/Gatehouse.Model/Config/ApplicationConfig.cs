using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>An account's client: subscribes to one plan and holds the credentials that identify it.</summary>
public sealed record ApplicationConfig
{
    /// <summary>The owning account, a key of <c>accounts</c>. Required.</summary>
    [RequiredKey("the account that owns the application, a key of 'accounts'")]
    public required string Account { get; init; }

    /// <summary>The plan subscribed to, a key of <c>plans</c> (not the anonymous one). Required.</summary>
    [RequiredKey("the plan it subscribes to, a key of 'plans'")]
    public required string Plan { get; init; }

    /// <summary>
    /// <c>live</c> may call what its plan grants; <c>pending</c> (awaiting approval) and <c>suspended</c> are refused
    /// with 403. Default <c>live</c>.
    /// </summary>
    public ApplicationState State { get; init; } = ApplicationState.Live;

    /// <summary>API keys, stored as hashes only. Several keys allow rotation without downtime. Default: none.</summary>
    public IReadOnlyList<ApiKeyConfig> Keys { get; init; } = [];

    /// <summary>
    /// Values of a JWT's application claim (<c>azp</c>, <c>client_id</c> or the issuer's <c>applicationClaim</c>) that
    /// identify this application. Default: the application's key.
    /// </summary>
    [OneOrMany]
    public IReadOnlyList<string> ClientIds { get; init; } = [];
}

/// <summary>The life cycle of an application.</summary>
public enum ApplicationState
{
    /// <summary>Serves.</summary>
    Live,
    /// <summary>Waiting for approval of its subscription.</summary>
    Pending,
    /// <summary>Stopped by an administrator.</summary>
    Suspended,
}

/// <summary>
/// One API key of an application. Only the SHA-256 of the key is kept: the plaintext is shown once, when the key is
/// made (<c>gatehouse key new</c>), and never stored.
/// </summary>
public sealed record ApiKeyConfig
{
    /// <summary>Lower-case hex SHA-256 of the whole key (64 characters), as <c>gatehouse key new</c> prints it. Required.</summary>
    [RequiredKey("the key's SHA-256 in hex, as 'gatehouse key new' prints it")]
    public required string Sha256 { get; init; }

    /// <summary>The key's first characters (<c>ghk_1a2b</c>), so people can tell keys apart. Default: none.</summary>
    public string? Prefix { get; init; }

    /// <summary>When the key stops working (<c>2027-01-31T00:00:00Z</c>). Default: never.</summary>
    public DateTimeOffset? Expires { get; init; }
}
