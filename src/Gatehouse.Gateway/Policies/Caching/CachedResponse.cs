using Microsoft.Extensions.Primitives;

namespace Gatehouse.Gateway.Policies.Caching;

/// <summary>
/// One kept response, immutable: status, headers and body as the client got them (after response transforms, less the
/// header values they take from the request, which every answer gets anew), and when it stops being fresh and usable stale. Or, for a response the service said <c>Vary</c> on, only the rule:
/// which request headers pick the variant (<see cref="VaryNames"/>), under the key without them.
/// </summary>
internal sealed class CachedResponse
{
    public int Status { get; init; }

    public KeyValuePair<string, StringValues>[] Headers { get; init; } = [];

    public byte[] Body { get; init; } = [];

    /// <summary>When it was kept (the gateway's clock), less the age it already had upstream.</summary>
    public DateTimeOffset Born { get; init; }

    public DateTimeOffset FreshUntil { get; init; }

    public DateTimeOffset RevalidateUntil { get; init; }

    public DateTimeOffset ErrorUntil { get; init; }

    /// <summary>
    /// The service marked it for shared caches (<c>Cache-Control</c> <c>public</c>, <c>s-maxage</c> or
    /// <c>must-revalidate</c>), so on a <c>shared</c> route it may also answer a request that carries a credential the key
    /// does not hold (RFC 9111 §3.5).
    /// </summary>
    public bool Shareable { get; init; }

    /// <summary>For a Vary rule: the request headers (lower-case, sorted) whose values are part of the variant's key.</summary>
    public string[]? VaryNames { get; init; }

    /// <summary>Bytes it holds, roughly, for the cache's size bound.</summary>
    public long Size => Body.Length + 256 + Headers.Sum(h => h.Key.Length + h.Value.ToString().Length + 32);
}
