namespace Gatehouse.Gateway.Access;

/// <summary>
/// The OAuth scopes a bearer token must carry, all of them, to call one operation or route (<c>requireScopes</c>),
/// compiled once per revision with the answers a refusal sends. A target without it has none, and its requests never
/// read a token's scopes.
/// </summary>
internal sealed class ScopeRequirement
{
    private ScopeRequirement(string[] scopes)
    {
        Scopes = scopes;
        Text = string.Join(' ', scopes);
        // RFC 6750 §3: scope-tokens have no '"' or '\' (validated), so the list needs no escaping inside the quotes.
        Challenge = $"Bearer error=\"insufficient_scope\", scope=\"{Text}\"";
        Unauthenticated = $"Bearer scope=\"{Text}\"";
    }

    /// <summary>The scopes, each once, in the order written (the operation's first).</summary>
    public string[] Scopes { get; }

    /// <summary>The scopes space-separated, as OAuth writes them.</summary>
    public string Text { get; }

    /// <summary>The <c>WWW-Authenticate</c> of a 403 for a token without them (RFC 6750 §3.1).</summary>
    public string Challenge { get; }

    /// <summary>The <c>WWW-Authenticate</c> of a 401 here: a bearer token with these scopes is what to send.</summary>
    public string Unauthenticated { get; }

    /// <summary>The requirement of <paramref name="first"/> and <paramref name="then"/> together; null when both are empty.</summary>
    public static ScopeRequirement? Of(IReadOnlyList<string>? first, IReadOnlyList<string>? then = null)
    {
        var scopes = (first ?? []).Concat(then ?? []).Distinct(StringComparer.Ordinal).ToArray();
        return scopes.Length == 0 ? null : new ScopeRequirement(scopes);
    }

    /// <summary>This requirement with <paramref name="more"/> scopes; itself when they add nothing.</summary>
    public static ScopeRequirement? Combine(ScopeRequirement? requirement, IReadOnlyList<string> more) =>
        more.Count == 0 ? requirement : Of(requirement?.Scopes, more);

    /// <summary>The first required scope that <paramref name="granted"/> (space-separated, as a token carries them) lacks; null when it has them all.</summary>
    public string? FirstMissing(string? granted)
    {
        foreach (var scope in Scopes)
        {
            if (granted is null || !Holds(granted, scope))
            {
                return scope;
            }
        }

        return null;
    }

    private static bool Holds(ReadOnlySpan<char> granted, string scope)
    {
        foreach (var range in granted.Split(' '))
        {
            if (granted[range].SequenceEqual(scope))
            {
                return true;
            }
        }

        return false;
    }
}
