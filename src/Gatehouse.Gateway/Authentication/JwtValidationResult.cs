namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// The outcome of validating one bearer token: either who presented it (issuer, application, subject, expiry)
/// or why it was refused. Callers answer every failure the same way (401, <c>WWW-Authenticate: Bearer
/// error="invalid_token"</c>); <see cref="FailureCode"/> is for logs and metrics, never for the client.
/// </summary>
internal sealed record JwtValidationResult
{
    private JwtValidationResult()
    {
    }

    public bool Succeeded => Failure is null;

    public JwtFailure? Failure { get; private init; }

    /// <summary>The configured name of the issuer (the key under <c>jwtIssuers</c>).</summary>
    public string? IssuerName { get; private init; }

    /// <summary>The value of the application claim (<c>azp</c>, <c>client_id</c> or the configured one).</summary>
    public string? ApplicationId { get; private init; }

    /// <summary>The <c>sub</c> claim, when the token has one.</summary>
    public string? Subject { get; private init; }

    /// <summary>The token's <c>exp</c>.</summary>
    public DateTimeOffset Expires { get; private init; }

    /// <summary>
    /// The token's OAuth scopes, space-separated (its <c>scope</c>, else its <c>scp</c> list or string); read only when
    /// the caller asked for them, null otherwise or when the token has neither.
    /// </summary>
    public string? Scopes { get; private init; }

    /// <summary>A stable kebab-case code such as <c>expired</c> or <c>unknown-key</c>; null on success.</summary>
    public string? FailureCode => Failure switch
    {
        null => null,
        JwtFailure.Malformed => "malformed",
        JwtFailure.AlgorithmNotAllowed => "algorithm-not-allowed",
        JwtFailure.WrongIssuer => "wrong-issuer",
        JwtFailure.UnknownKey => "unknown-key",
        JwtFailure.BadSignature => "bad-signature",
        JwtFailure.Expired => "expired",
        JwtFailure.NotYetValid => "not-yet-valid",
        JwtFailure.WrongAudience => "wrong-audience",
        JwtFailure.NoApplicationClaim => "no-application-claim",
        _ => throw new ArgumentOutOfRangeException(nameof(Failure), Failure, null),
    };

    public static JwtValidationResult Success(string issuerName, string applicationId, string? subject, DateTimeOffset expires, string? scopes = null) =>
        new() { IssuerName = issuerName, ApplicationId = applicationId, Subject = subject, Expires = expires, Scopes = scopes };

    public static JwtValidationResult Fail(JwtFailure failure, string? issuerName = null) =>
        new() { Failure = failure, IssuerName = issuerName };
}
