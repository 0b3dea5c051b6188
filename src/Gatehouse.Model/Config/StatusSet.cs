namespace Gatehouse.Model.Config;

/// <summary>Status codes written as codes (<c>204</c>), ranges (<c>200-399</c>) or classes (<c>2xx</c>).</summary>
public static class StatusSet
{
    /// <summary>Reads one entry as an inclusive range of codes between 100 and 599; false when it is none of the three forms.</summary>
    public static bool TryParse(string text, out int from, out int to)
    {
        (from, to) = (0, 0);
        text = text.Trim();
        if (text.Length == 3 && text[0] is >= '1' and <= '5' && text[1..].Equals("xx", StringComparison.OrdinalIgnoreCase))
        {
            from = (text[0] - '0') * 100;
            to = from + 99;
            return true;
        }

        var dash = text.IndexOf('-', StringComparison.Ordinal);
        const System.Globalization.NumberStyles digits = System.Globalization.NumberStyles.None;
        var invariant = System.Globalization.CultureInfo.InvariantCulture;
        bool ok;
        if (dash < 0)
        {
            ok = int.TryParse(text, digits, invariant, out from);
            to = from;
        }
        else
        {
            ok = int.TryParse(text[..dash], digits, invariant, out from) && int.TryParse(text[(dash + 1)..], digits, invariant, out to);
        }

        return ok && from is >= 100 and <= 599 && to is >= 100 and <= 599 && from <= to;
    }

    /// <summary>A lookup of the codes <paramref name="entries"/> name (entries that do not read are left out: validation reports them).</summary>
    public static bool[] Compile(IEnumerable<string> entries)
    {
        var codes = new bool[600];
        foreach (var entry in entries)
        {
            if (TryParse(entry, out var from, out var to))
            {
                Array.Fill(codes, true, from, to - from + 1);
            }
        }

        return codes;
    }
}
