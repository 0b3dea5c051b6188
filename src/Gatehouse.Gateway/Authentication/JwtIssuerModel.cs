using System.Collections.Frozen;
using Gatehouse.Model.Config;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// The runtime form of one <see cref="JwtIssuerConfig"/>: its pinned algorithms, its key cache, and the
/// <see cref="TokenValidationParameters"/> for the current key set (rebuilt only when the key set is replaced).
/// </summary>
internal sealed class JwtIssuerModel
{
    private readonly TimeProvider _time;
    private CachedParameters? _parameters;

    public JwtIssuerModel(string name, JwtIssuerConfig config, JwksCache keys, TimeProvider time)
    {
        Name = name;
        Config = config;
        Keys = keys;
        _time = time;
        Algorithms = config.Algorithms.ToFrozenSet(StringComparer.Ordinal);
        ApplicationClaims = config.ApplicationClaim is { } claim ? [claim] : ["azp", "client_id"];
    }

    public string Name { get; }

    public JwtIssuerConfig Config { get; }

    public JwksCache Keys { get; }

    public FrozenSet<string> Algorithms { get; }

    /// <summary>Claims read in order for the application id; the first present one decides.</summary>
    public IReadOnlyList<string> ApplicationClaims { get; }

    /// <summary>Parameters that trust exactly <paramref name="keys"/>. Shared by concurrent validations, so never mutated.</summary>
    public TokenValidationParameters ParametersFor(JwksKeySet keys)
    {
        var cached = Volatile.Read(ref _parameters);
        if (cached is not null && ReferenceEquals(cached.Keys, keys))
        {
            return cached.Parameters;
        }

        var parameters = new TokenValidationParameters
        {
            ValidIssuer = Config.Issuer,
            ValidateIssuer = true,
            ValidAudiences = Config.Audiences,
            ValidateAudience = true,
            ValidAlgorithms = Config.Algorithms,
            IssuerSigningKeys = keys.Keys,
            ValidateIssuerSigningKey = false, // JWKs carry no validity period to check; trust comes from the configured source.
            TryAllIssuerSigningKeys = false, // a kid not in the set fails instead of being tried against every key
            RequireSignedTokens = true,
            RequireExpirationTime = true,
            ValidateLifetime = true,
            ClockSkew = Config.ClockSkew,
            // The injected clock decides exp/nbf (TokenValidationParameters.TimeProvider is not public in 8.x).
            LifetimeValidator = ValidateLifetime,
            ValidateTokenReplay = false,
            SaveSigninToken = false,
            LogValidationExceptions = false, // failures are the caller's to count; a flood of forged tokens must not flood the log
        };

        Volatile.Write(ref _parameters, new CachedParameters(keys, parameters));
        return parameters;
    }

    /// <summary>exp and nbf against the injected clock, throwing the library's own exception types so they classify the same.</summary>
    private bool ValidateLifetime(DateTime? notBefore, DateTime? expires, SecurityToken token, TokenValidationParameters parameters)
    {
        var now = _time.GetUtcNow().UtcDateTime;
        if (expires is null)
        {
            throw new SecurityTokenNoExpirationException("the token has no 'exp'.");
        }

        if (now - parameters.ClockSkew >= expires.Value)
        {
            throw new SecurityTokenExpiredException("the token has expired.") { Expires = expires.Value };
        }

        if (notBefore is { } nbf && now + parameters.ClockSkew < nbf)
        {
            throw new SecurityTokenNotYetValidException("the token is not valid yet.") { NotBefore = nbf };
        }

        return true;
    }

    private sealed record CachedParameters(JwksKeySet Keys, TokenValidationParameters Parameters);
}
