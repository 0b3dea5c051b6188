using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>An account's client: subscribes to one plan and holds the credentials that identify it.</summary>
public sealed record ApplicationConfig
{
    /// <summary>The owner: a key of <c>accounts</c>.</summary>
    [RequiredKey("the account that owns the application, a key of 'accounts'")]
    [DocType("account id")]
    public required string Account { get; init; }

    /// <summary>The plan subscribed to: a key of <c>plans</c>, not the anonymous one.</summary>
    [RequiredKey("the plan it subscribes to, a key of 'plans'")]
    [DocType("plan name")]
    public required string Plan { get; init; }

    /// <summary>Only <c>live</c> applications are served; the others get 403.</summary>
    public ApplicationState State { get; init; } = ApplicationState.Live;

    /// <summary>API keys, several for rotation.</summary>
    public IReadOnlyList<ApiKeyConfig> Keys { get; init; } = [];

    /// <summary>
    /// Values of a JWT's application claim (<c>azp</c>, <c>client_id</c>, or the issuer's <c>applicationClaim</c>) that
    /// identify this application.
    /// </summary>
    [OneOrMany]
    [DefaultText("`[<id>]`")]
    public IReadOnlyList<string> ClientIds { get; init; } = [];

    /// <summary>
    /// HTTP Basic credentials, for legacy clients that can send nothing else: a username (unique across applications)
    /// and the SHA-256 of its password. Use a generated password (<c>gatehouse key new</c>): a fast hash is only as
    /// strong as the secret behind it.
    /// </summary>
    public IReadOnlyList<BasicCredentialConfig> Basic { get; init; } = [];

    /// <summary>
    /// TLS client certificates that authenticate as this application, on listeners with <c>clientCertificates</c>:
    /// each by its SHA-256 thumbprint, or by subject and issuer (which survives renewal by the same CA). Either way the
    /// certificate must chain to the listener's <c>caFile</c>.
    /// </summary>
    public IReadOnlyList<ClientCertificateConfig> Certificates { get; init; } = [];

    /// <summary>Client addresses this application may (or may not) call from, checked after authentication.</summary>
    public IpFilterConfig? IpFilter { get; init; }
}

/// <summary>One HTTP Basic credential of an application.</summary>
public sealed record BasicCredentialConfig
{
    /// <summary>The username, unique across applications; no ':'.</summary>
    [RequiredKey("the username the client sends")]
    public required string Username { get; init; }

    /// <summary>The password's SHA-256, 64 lower-case hex characters (<c>printf %s PASSWORD | sha256sum</c>). The password itself is never written in config.</summary>
    [RequiredKey("the password's SHA-256 in hex")]
    [DocType("hex")]
    public required string Sha256 { get; init; }
}

/// <summary>One TLS client certificate of an application: a <c>thumbprint</c>, or a <c>subject</c> and an <c>issuer</c>.</summary>
public sealed record ClientCertificateConfig
{
    /// <summary>The certificate's SHA-256 thumbprint in hex, colons allowed (<c>openssl x509 -noout -fingerprint -sha256 -in client.pem</c>).</summary>
    [DocType("hex")]
    public string? Thumbprint { get; init; }

    /// <summary>The certificate's subject distinguished name, e.g. <c>CN=erp, O=Acme</c>; with <c>issuer</c>.</summary>
    [DocType("distinguished name")]
    public string? Subject { get; init; }

    /// <summary>The issuing CA's distinguished name, e.g. <c>CN=Acme Clients CA</c>; with <c>subject</c>.</summary>
    [DocType("distinguished name")]
    public string? Issuer { get; init; }
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
    /// <summary>
    /// The key's SHA-256, 64 lower-case hex characters, as <c>gatehouse key new</c> prints it. The key itself is never
    /// written in config.
    /// </summary>
    [RequiredKey("the key's SHA-256 in hex, as 'gatehouse key new' prints it")]
    [DocType("hex")]
    public required string Sha256 { get; init; }

    /// <summary>The key's first characters, to tell keys apart.</summary>
    public string? Prefix { get; init; }

    /// <summary>
    /// When the key stops working, e.g. <c>2027-01-31T00:00:00Z</c>; an expired key gets the same 401 as an unknown
    /// one.
    /// </summary>
    [DefaultText("never")]
    public DateTimeOffset? Expires { get; init; }
}
