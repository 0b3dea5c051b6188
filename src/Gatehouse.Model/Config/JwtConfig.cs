namespace Gatehouse.Model.Config;

/// <summary>Bearer tokens (JWT) accepted as application credentials.</summary>
public sealed record JwtConfig
{
    /// <summary>Trusted issuers by name (see below). With none, bearer tokens are not accepted.</summary>
    public IReadOnlyDictionary<string, JwtIssuerConfig> Issuers { get; init; } = new Dictionary<string, JwtIssuerConfig>();
}
