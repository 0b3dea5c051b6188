using System.Text.Json;

namespace Gatehouse.Model.Compositions;

/// <summary>
/// The names an <c>@select</c> keeps, each once and in the order it first names them, with their UTF-8 (to search a
/// borrowed object) and their JSON text (to write them), made once when the template is compiled.
/// </summary>
internal sealed class FieldSelection
{
    private FieldSelection(string[] names, byte[][] utf8)
    {
        (Names, Utf8) = (names, utf8);
        Encoded = [.. names.Select(n => JsonEncodedText.Encode(n))];
    }

    public string[] Names { get; }

    public byte[][] Utf8 { get; }

    public JsonEncodedText[] Encoded { get; }

    /// <summary>
    /// The selection of <paramref name="names"/>; null when one is not valid UTF-16 (a lone surrogate), which only the
    /// built path reads (and fails on, as it always has).
    /// </summary>
    public static FieldSelection? Of(IReadOnlyList<string> names)
    {
        var distinct = names.Distinct(StringComparer.Ordinal).ToArray();
        var utf8 = new byte[distinct.Length][];
        for (var i = 0; i < distinct.Length; i++)
        {
            if (Utf8Names.Encode(distinct[i]) is not { } bytes)
            {
                return null;
            }

            utf8[i] = bytes;
        }

        return new FieldSelection(distinct, utf8);
    }

    /// <summary>Where <paramref name="name"/> is in the selection, or -1.</summary>
    public int IndexOf(string name) => Array.IndexOf(Names, name);
}
