using System.Globalization;

namespace Gatehouse.Model.Text;

/// <summary>Counts in messages people read: "1 service", "2 services", "1 second".</summary>
public static class Plural
{
    /// <summary><paramref name="n"/> and the noun, in the singular for 1 (the plural adds "s" unless <paramref name="plural"/> says otherwise).</summary>
    public static string Count(long n, string noun, string? plural = null) =>
        string.Create(CultureInfo.InvariantCulture, $"{n} {(n == 1 ? noun : plural ?? noun + "s")}");
}
