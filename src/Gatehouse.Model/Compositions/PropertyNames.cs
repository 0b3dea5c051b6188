using System.Buffers;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Gatehouse.Model.Compositions;

/// <summary>
/// Property names of borrowed objects as strings, shared across bodies: backends repeat the same few names in every
/// answer, so each thread keeps the ones it has seen (up to a bound) rather than allocating each per read.
/// </summary>
internal static class PropertyNames
{
    private const int MaxCachedNameBytes = 64;
    private const int MaxCachedNames = 512;

    [ThreadStatic]
    private static Dictionary<string, string>? t_names;

    public static string Of(JsonProperty property)
    {
        var raw = JsonMarshal.GetRawUtf8PropertyName(property);
        if (raw.Length > MaxCachedNameBytes || raw.IndexOf((byte)'\\') >= 0)
        {
            return property.Name;
        }

        Span<char> chars = stackalloc char[MaxCachedNameBytes];
        if (System.Text.Unicode.Utf8.ToUtf16(raw, chars, out _, out var written, replaceInvalidSequences: false) != OperationStatus.Done)
        {
            return property.Name;
        }

        var names = t_names ??= new Dictionary<string, string>(StringComparer.Ordinal);
        var lookup = names.GetAlternateLookup<ReadOnlySpan<char>>();
        if (lookup.TryGetValue(chars[..written], out var name))
        {
            return name;
        }

        name = new string(chars[..written]);
        if (names.Count < MaxCachedNames)
        {
            names.Add(name, name);
        }

        return name;
    }
}
