namespace Gatehouse.Model.Compositions;

/// <summary>
/// A parsed reference such as <c>@orders.body[*].items[*].productId</c>: a root (<c>request</c>, a step, an
/// <c>@as</c> name, <c>item</c>, <c>this</c>) and a path of field names, indexes and <c>[*]</c> wildcards.
/// </summary>
public sealed record ValueRef(string Text, string Root, IReadOnlyList<RefSegment> Segments)
{
    /// <summary>Whether the path has a <c>[*]</c>, so the reference yields an array of every match.</summary>
    /// <remarks>Found once: evaluation asks it for every reference of every answer.</remarks>
    public bool HasWildcard { get; } = Segments.Any(s => s.Kind == RefSegmentKind.Wildcard);

    /// <summary>True when <paramref name="text"/> is a reference (starts with one <c>@</c>, not <c>@@</c>).</summary>
    public static bool IsReference(string text) => text.Length > 0 && text[0] == '@' && !text.StartsWith("@@", StringComparison.Ordinal);

    /// <summary>Parses a reference written <c>@root.a[*].b[0]</c>; null and an error when it is malformed.</summary>
    public static ValueRef? TryParse(string text, out string? error)
    {
        error = null;
        if (!IsReference(text) || text.Length < 2)
        {
            error = $"'{text}' is not a reference; write '@step.body.field' or '@request.path.name'.";
            return null;
        }

        var segments = new List<RefSegment>();
        var i = 1;
        var root = ReadName(text, ref i);
        if (root.Length == 0)
        {
            error = $"'{text}' does not start with a name after '@'.";
            return null;
        }

        while (i < text.Length)
        {
            if (text[i] == '.')
            {
                i++;
                var name = ReadName(text, ref i);
                if (name.Length == 0)
                {
                    error = $"'{text}' has an empty field name at position {i}.";
                    return null;
                }

                segments.Add(new RefSegment(RefSegmentKind.Field, name, 0));
            }
            else if (text[i] == '[')
            {
                var close = text.IndexOf(']', i);
                if (close < 0)
                {
                    error = $"'{text}' has a '[' without ']'.";
                    return null;
                }

                var inner = text[(i + 1)..close];
                if (inner == "*")
                {
                    segments.Add(new RefSegment(RefSegmentKind.Wildcard, "*", 0));
                }
                else if (int.TryParse(inner, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var index))
                {
                    segments.Add(new RefSegment(RefSegmentKind.Index, inner, index));
                }
                else
                {
                    error = $"'{text}' has '[{inner}]'; write '[*]' for every element or '[N]' for one.";
                    return null;
                }

                i = close + 1;
            }
            else
            {
                error = $"'{text}' has an unexpected '{text[i]}' at position {i}.";
                return null;
            }
        }

        return new ValueRef(text, root, segments);
    }

    private static string ReadName(string text, ref int i)
    {
        var start = i;
        while (i < text.Length && text[i] is not ('.' or '[' or ']'))
        {
            i++;
        }

        return text[start..i];
    }
}

/// <summary>One step of a reference's path.</summary>
public readonly record struct RefSegment(RefSegmentKind Kind, string Name, int Index)
{
    private readonly Derived<string, byte[]?> _utf8 = new(Name, Utf8Names.Encode(Name));

    /// <summary>The UTF-8 of <see cref="Name"/>, or null (then read by the string).</summary>
    internal byte[]? Utf8Name => _utf8.For(Name);
}

/// <summary>What a <see cref="RefSegment"/> selects.</summary>
public enum RefSegmentKind
{
    /// <summary>A field of an object.</summary>
    Field,
    /// <summary>One element of an array.</summary>
    Index,
    /// <summary>Every element of an array.</summary>
    Wildcard,
}
