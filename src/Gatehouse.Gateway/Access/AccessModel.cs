using System.Collections.Frozen;
using Gatehouse.Gateway.Authentication;

namespace Gatehouse.Gateway.Access;

/// <summary>
/// Everything the authenticate and authorize steps need, compiled from one revision: plans, applications, key
/// hashes, JWT client ids and the per-operation grant tables. Immutable; part of the snapshot. Null on a snapshot
/// without plans, where no route has the steps at all.
/// </summary>
internal sealed class AccessModel
{
    private static long s_generations;

    public AccessModel(
        PlanModel[] plans,
        PlanModel? anonymous,
        Dictionary<string, ApplicationModel> applications,
        Dictionary<string, ApiKeyModel> keysBySha256,
        Dictionary<string, ApplicationModel> byClientId,
        FrozenDictionary<string, AccessTarget> operations,
        FrozenDictionary<string, AccessTarget> routes,
        string keyHeader,
        string keyQueryParameter,
        bool authenticationShadow,
        JwtValidator? jwt)
    {
        Plans = plans;
        PlanByName = plans.ToFrozenDictionary(p => p.Name, StringComparer.Ordinal);
        Anonymous = anonymous;
        Applications = applications;
        KeysBySha256 = keysBySha256;
        KeyLookup = keysBySha256.GetAlternateLookup<ReadOnlySpan<char>>();
        ByClientId = byClientId;
        Operations = operations;
        Routes = routes;
        KeyHeader = keyHeader;
        KeyQueryParameter = keyQueryParameter;
        AuthenticationShadow = authenticationShadow;
        Jwt = jwt;
        WwwAuthenticate = jwt is null ? $"ApiKey header=\"{keyHeader}\"" : $"ApiKey header=\"{keyHeader}\", Bearer";
    }

    /// <summary>OAuth2 token introspection for bearer tokens that are not JWTs (issue 23); null when not configured.</summary>
    public TokenIntrospector? Introspection { get; init; }

    /// <summary>HTTP Basic users (issue 23): the application and the password's SHA-256, by username; null when no application has one.</summary>
    public IReadOnlyDictionary<string, (ApplicationModel Application, byte[] Sha256)>? BasicUsers
    {
        get;
        init
        {
            field = value;
            if (value is not null)
            {
                WwwAuthenticate += ", Basic realm=\"gatehouse\"";
            }
        }
    }

    /// <summary>
    /// Applications by client certificate (issue 23): by SHA-256 thumbprint (upper-case hex) and by
    /// <see cref="Authentication.ClientCertificateVerdict.SubjectKey"/>; null when no application has one.
    /// </summary>
    public (IReadOnlyDictionary<string, ApplicationModel> ByThumbprint, IReadOnlyDictionary<string, ApplicationModel> BySubject)? Certificates { get; init; }

    public PlanModel[] Plans { get; }

    /// <summary>The plans by name: what portal applications (<see cref="ConsumerDirectory"/>) bind to.</summary>
    public FrozenDictionary<string, PlanModel> PlanByName { get; }

    /// <summary>The plan of requests without a credential; null when there is none (they get 401).</summary>
    public PlanModel? Anonymous { get; }

    // The per-application tables are plain dictionaries, never written after construction: freezing 100,000
    // entries cost several hundred milliseconds of compile time for no measurable gain in lookup speed.

    public IReadOnlyDictionary<string, ApplicationModel> Applications { get; }

    /// <summary>API keys by the lower-case hex SHA-256 of the key.</summary>
    public IReadOnlyDictionary<string, ApiKeyModel> KeysBySha256 { get; }

    /// <summary>Looks a hash up from a stack buffer, so a key check allocates nothing.</summary>
    public Dictionary<string, ApiKeyModel>.AlternateLookup<ReadOnlySpan<char>> KeyLookup { get; }

    /// <summary>
    /// A number no other model of this process has: what a cached lookup (<see cref="KeyCache"/>) remembers of the model it
    /// was found in, instead of the model itself, so that a cache entry never keeps an old revision's model alive.
    /// </summary>
    public long Generation { get; } = Interlocked.Increment(ref s_generations);

    /// <summary>Applications by the values of a JWT's application claim.</summary>
    public IReadOnlyDictionary<string, ApplicationModel> ByClientId { get; }

    /// <summary>Grant tables by operation id (the authorize API asks by operation).</summary>
    public FrozenDictionary<string, AccessTarget> Operations { get; }

    /// <summary>Grant tables of routes bound to no operation, by route id.</summary>
    public FrozenDictionary<string, AccessTarget> Routes { get; }

    public string KeyHeader { get; }

    public string KeyQueryParameter { get; }

    public bool AuthenticationShadow { get; }

    /// <summary>Null when no JWT issuer is configured: bearer tokens are then not a credential.</summary>
    public JwtValidator? Jwt { get; }

    /// <summary>The <c>WWW-Authenticate</c> value of a 401.</summary>
    public string WwwAuthenticate { get; private set; }
}
