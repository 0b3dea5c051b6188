namespace Gatehouse.Model.Access;

/// <summary>
/// The path patterns of plan grants: segments compared case-insensitively, <c>*</c> matching one segment,
/// <c>**</c> any number of segments (also none), and a <c>{name}</c> segment matching any parameter segment.
/// Patterns match path templates (<c>/orders/{id}</c>), not request paths.
/// </summary>
public static class PathPattern
{
    /// <summary>True when <paramref name="pattern"/> matches the path template <paramref name="template"/>.</summary>
    public static bool Matches(string pattern, string template) => Match(Split(pattern), 0, Split(template), 0);

    /// <summary>Why <paramref name="pattern"/> is not a pattern, or null when it is one.</summary>
    public static string? Check(string pattern)
    {
        if (!pattern.StartsWith('/'))
        {
            return $"'{pattern}' must start with '/', e.g. '/orders/**'.";
        }

        foreach (var segment in Split(pattern))
        {
            if (segment.Contains('*', StringComparison.Ordinal) && segment is not ("*" or "**"))
            {
                return $"'{segment}' mixes '*' with other characters; '*' and '**' stand for whole segments.";
            }
        }

        return null;
    }

    private static string[] Split(string path) => path.Split('/', StringSplitOptions.RemoveEmptyEntries);

    private static bool Match(string[] pattern, int p, string[] path, int i)
    {
        while (p < pattern.Length)
        {
            var segment = pattern[p];
            if (segment == "**")
            {
                for (var skip = i; skip <= path.Length; skip++)
                {
                    if (Match(pattern, p + 1, path, skip))
                    {
                        return true;
                    }
                }

                return false;
            }

            if (i >= path.Length || !SegmentMatches(segment, path[i]))
            {
                return false;
            }

            p++;
            i++;
        }

        return i == path.Length;
    }

    private static bool SegmentMatches(string pattern, string segment) =>
        pattern == "*"
        || (IsParameter(pattern) && IsParameter(segment))
        || string.Equals(pattern, segment, StringComparison.OrdinalIgnoreCase);

    private static bool IsParameter(string segment) => segment.Length > 2 && segment[0] == '{' && segment[^1] == '}';
}
