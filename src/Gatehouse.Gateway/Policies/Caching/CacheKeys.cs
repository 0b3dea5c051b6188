using System.Text;

namespace Gatehouse.Gateway.Policies.Caching;

/// <summary>
/// Cache keys: length-prefixed parts, so no value (a decoded path may hold any character) can run into the next part
/// and make two requests read alike. The first parts are the route and the path, which purges select by.
/// </summary>
internal static class CacheKeys
{
    public static string RoutePrefix(string route) => Part(new StringBuilder(), route).ToString();

    public static StringBuilder Part(StringBuilder sb, string? value)
    {
        value ??= "";
        return sb.Append(value.Length).Append(':').Append(value);
    }

    /// <summary>The request path a key was made for (its third part: route, fingerprint, path).</summary>
    public static string? PathOf(string key) => PartOf(key, 2);

    /// <summary>Part <paramref name="index"/> of a key (0 the route, 1 the fingerprint, 2 the path); null when the key is malformed.</summary>
    public static string? PartOf(string key, int index)
    {
        var at = 0;
        for (var part = 0; part <= index; part++)
        {
            var colon = key.IndexOf(':', at);
            if (colon < 0 || !int.TryParse(key.AsSpan(at, colon - at), out var length) || colon + 1 + length > key.Length)
            {
                return null;
            }

            if (part == index)
            {
                return key.Substring(colon + 1, length);
            }

            at = colon + 1 + length;
        }

        return null;
    }
}
