namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// The limits that apply to one request shape (a plan's own limits plus an operation's), compiled once: the
/// policies in an array, and the whole <c>RateLimit-Policy</c> value, so a response only copies a reference.
/// A plan's own limits appear, with the same slots, in the set of each of its operations, so they count across them.
/// </summary>
internal sealed class LimitSet
{
    public LimitSet(IEnumerable<LimitPolicy> policies)
    {
        Policies = [.. policies];
        var enforced = Policies.Where(p => !p.IsShadow).ToArray();
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var p in enforced)
        {
            if (!names.Add(p.Name))
            {
                throw new ArgumentException($"two enforced limits are both named '{p.Name}'; give them distinct names.", nameof(policies));
            }
        }

        // Shadow limits are not advertised: they do not limit, and a client that paced itself by them would be
        // limited by a rule that is only being tried out.
        PolicyHeader = enforced.Length == 0 ? null : string.Join(", ", enforced.Select(p => p.PolicyItem));
    }

    /// <summary>A set with no limits.</summary>
    public static LimitSet Empty { get; } = new([]);

    public LimitPolicy[] Policies { get; }

    /// <summary>The <c>RateLimit-Policy</c> value; null when no limit is enforced.</summary>
    public string? PolicyHeader { get; }
}
