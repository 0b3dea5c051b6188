namespace Gatehouse.Gateway.Access;

/// <summary>The outcome of the authenticate step.</summary>
internal enum CallerKind
{
    /// <summary>A valid credential of a known application.</summary>
    Application,
    /// <summary>No credential at all.</summary>
    Anonymous,
    /// <summary>A credential that identifies nobody: unknown, revoked or expired key; a token that fails validation.</summary>
    Invalid,
}

/// <summary>Who is calling, as far as the credential says.</summary>
internal readonly record struct Caller(CallerKind Kind, ApplicationModel? Application, CredentialKind Credential = CredentialKind.None, string? TokenError = null)
{
    /// <summary>
    /// The OAuth scopes of the caller's bearer token, space-separated as OAuth writes them; read only where the target
    /// requires scopes (<see cref="AccessTarget.Scopes"/>), null everywhere else and for every other credential.
    /// </summary>
    public string? Scopes { get; init; }

    public static Caller Anonymous => new(CallerKind.Anonymous, null);

    public static Caller Of(ApplicationModel app, CredentialKind credential) => new(CallerKind.Application, app, credential);

    public static Caller Invalid(CredentialKind credential, string? tokenError = null) => new(CallerKind.Invalid, null, credential, tokenError);
}

/// <summary>Which kind of credential the request presented.</summary>
internal enum CredentialKind
{
    None,
    ApiKeyHeader,
    ApiKeyQuery,
    Bearer,
    Basic,
    ClientCertificate,
}
