namespace Gatehouse.Model.Routing;

/// <summary>
/// A parsed route path such as <c>/users/{id}/orders/{**rest}</c>: literal segments, single-segment
/// parameters, and an optional catch-all as the last segment. Empty segments are not allowed.
/// </summary>
public sealed class PathTemplate
{
    private PathTemplate(string text, IReadOnlyList<TemplateSegment> segments)
    {
        Text = text;
        Segments = segments;
    }

    /// <summary>The template as written.</summary>
    public string Text { get; }

    /// <summary>The segments, in order.</summary>
    public IReadOnlyList<TemplateSegment> Segments { get; }

    /// <summary>True when the last segment is a catch-all.</summary>
    public bool HasCatchAll => Segments.Count > 0 && Segments[^1].Kind == SegmentKind.CatchAll;

    /// <summary>A key that is equal for two templates that match exactly the same paths.</summary>
    public string ShapeKey => string.Join('/', Segments.Select(s => s.Kind switch
    {
        SegmentKind.Literal => s.Value.ToLowerInvariant(),
        SegmentKind.Parameter => "{}",
        _ => "{**}",
    }));

    /// <summary>Parses <paramref name="text"/>; on failure returns null and a sentence that says how to fix it.</summary>
    public static PathTemplate? TryParse(string text, out string? error)
    {
        error = null;
        if (string.IsNullOrEmpty(text) || text[0] != '/')
        {
            error = $"'{text}' must start with '/', e.g. '/users/{{id}}'.";
            return null;
        }

        var segments = new List<TemplateSegment>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var parts = text.Length == 1 ? [] : text[1..].Split('/');

        // A trailing slash is insignificant, so the segment before it is the last one.
        var last = parts.Length > 0 && parts[^1].Length == 0 ? parts.Length - 2 : parts.Length - 1;
        for (var i = 0; i <= last; i++)
        {
            var part = parts[i];
            if (part.Length == 0)
            {
                error = $"'{text}' has an empty segment ('//'); remove the extra slash.";
                return null;
            }

            if (part[0] == '{')
            {
                var close = part.IndexOf('}', StringComparison.Ordinal);
                if (close < 0)
                {
                    error = $"segment '{part}' of '{text}' opens a parameter but does not close it; write '{{name}}'.";
                    return null;
                }

                if (close != part.Length - 1)
                {
                    error = $"segment '{part}' of '{text}' mixes text and a parameter; a parameter must be a whole segment.";
                    return null;
                }

                var inner = part[1..^1];
                var kind = SegmentKind.Parameter;
                if (inner.StartsWith("**", StringComparison.Ordinal))
                {
                    kind = SegmentKind.CatchAll;
                    inner = inner[2..];
                    if (i != last)
                    {
                        error = $"catch-all '{part}' must be the last segment of '{text}'.";
                        return null;
                    }
                }

                if (inner.Length == 0)
                {
                    error = $"parameter '{part}' in '{text}' has no name; write e.g. '{{id}}' or '{{**rest}}'.";
                    return null;
                }

                if (!IsName(inner))
                {
                    error = $"parameter name '{inner}' in '{text}' must be letters, digits or '_' and start with a letter.";
                    return null;
                }

                if (!names.Add(inner))
                {
                    error = $"parameter '{inner}' appears twice in '{text}'; give each parameter its own name.";
                    return null;
                }

                segments.Add(new TemplateSegment(kind, inner));
                continue;
            }

            if (part.Contains('{') || part.Contains('}'))
            {
                error = $"segment '{part}' of '{text}' mixes text and a parameter; a parameter must be a whole segment.";
                return null;
            }

            if (part is "." or ".." || part.Contains('%') || part.Contains('\\') || part.Contains('?') || part.Contains('#'))
            {
                error = $"segment '{part}' of '{text}' is not a plain literal; dot segments, '%', '\\', '?' and '#' are not allowed.";
                return null;
            }

            segments.Add(new TemplateSegment(SegmentKind.Literal, part));
        }

        return new PathTemplate(text, segments);
    }

    /// <summary>Names of the template's parameters, catch-all included.</summary>
    public IEnumerable<string> ParameterNames => Segments.Where(s => s.Kind != SegmentKind.Literal).Select(s => s.Value);

    private static bool IsName(string s)
    {
        if (s.Length == 0 || !char.IsAsciiLetter(s[0]))
        {
            return false;
        }

        foreach (var c in s)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }

        return true;
    }
}

/// <summary>One segment of a <see cref="PathTemplate"/>.</summary>
/// <param name="Kind">Literal, parameter or catch-all.</param>
/// <param name="Value">The literal text, or the parameter's name.</param>
public readonly record struct TemplateSegment(SegmentKind Kind, string Value);

/// <summary>What a template segment matches.</summary>
public enum SegmentKind
{
    /// <summary>Exactly this text (case-insensitive).</summary>
    Literal,
    /// <summary>Any one non-empty segment.</summary>
    Parameter,
    /// <summary>The rest of the path, zero or more segments.</summary>
    CatchAll,
}
