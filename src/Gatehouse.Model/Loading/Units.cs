using System.Globalization;

namespace Gatehouse.Model.Loading;

/// <summary>Parsing and printing of the units config files use.</summary>
public static class Units
{
    /// <summary>Parses <c>250ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>; a bare number is seconds.</summary>
    public static bool TryParseDuration(string text, out TimeSpan value)
    {
        value = default;
        text = text.Trim();
        var (number, unit) = Split(text);
        if (!double.TryParse(number, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || double.IsNaN(n) || n < 0)
        {
            return false;
        }

        double? ms = unit switch
        {
            "ms" => n,
            "" or "s" => n * 1000,
            "m" => n * 60_000,
            "h" => n * 3_600_000,
            "d" => n * 86_400_000,
            _ => null,
        };
        if (ms is null || ms > TimeSpan.MaxValue.TotalMilliseconds / 2)
        {
            return false;
        }

        value = TimeSpan.FromMilliseconds(ms.Value);
        return true;
    }

    /// <summary>Parses <c>1024</c>, <c>64KB</c>, <c>10MB</c>, <c>1GB</c> (multiples of 1024; <c>KiB</c> spellings too).</summary>
    public static bool TryParseSize(string text, out long value)
    {
        value = 0;
        var (number, unit) = Split(text.Trim());
        if (!long.TryParse(number, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }

        long? factor = unit.ToUpperInvariant() switch
        {
            "" or "B" => 1L,
            "KB" or "KIB" or "K" => 1L << 10,
            "MB" or "MIB" or "M" => 1L << 20,
            "GB" or "GIB" or "G" => 1L << 30,
            _ => null,
        };
        if (factor is null || n > long.MaxValue / factor)
        {
            return false;
        }

        value = n * factor.Value;
        return true;
    }

    /// <summary>
    /// Prints <paramref name="value"/> the way a config file would write it: in the largest unit that
    /// holds it as a whole number (<c>1500ms</c>, <c>30s</c>, <c>5m</c>, <c>2h</c>, <c>1d</c>), so messages
    /// quote values in the user's own terms rather than as <c>00:00:30</c>.
    /// </summary>
    public static string FormatDuration(TimeSpan value)
    {
        var ms = (long)value.TotalMilliseconds;
        if (ms == 0 || ms != value.TotalMilliseconds)
        {
            return $"{value.TotalMilliseconds.ToString(CultureInfo.InvariantCulture)}ms";
        }

        return ms switch
        {
            _ when ms % 86_400_000 == 0 => $"{ms / 86_400_000}d",
            _ when ms % 3_600_000 == 0 => $"{ms / 3_600_000}h",
            _ when ms % 60_000 == 0 => $"{ms / 60_000}m",
            _ when ms % 1000 == 0 => $"{ms / 1000}s",
            _ => $"{ms}ms",
        };
    }

    /// <summary><c>RoundRobin</c> → <c>roundRobin</c>.</summary>
    public static string CamelCase(string pascal) =>
        pascal.Length == 0 ? pascal : char.ToLowerInvariant(pascal[0]) + pascal[1..];

    internal static int EditDistance(string a, string b)
    {
        var prev = new int[b.Length + 1];
        var cur = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            prev[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            cur[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var cost = a[i - 1] == b[j - 1] ? 0 : 1;
                cur[j] = Math.Min(Math.Min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }

            (prev, cur) = (cur, prev);
        }

        return prev[b.Length];
    }

    private static (string Number, string Unit) Split(string text)
    {
        var i = 0;
        while (i < text.Length && (char.IsAsciiDigit(text[i]) || text[i] == '.'))
        {
            i++;
        }

        return (text[..i], text[i..].Trim());
    }
}
