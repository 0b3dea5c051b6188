using System.Text;

namespace Gatehouse.Model.Compositions;

/// <summary>
/// Names a compiled reference or template holds as strings, encoded to UTF-8 once when it is made, so that a borrowed
/// object is searched with <c>JsonElement.TryGetProperty(ReadOnlySpan&lt;byte&gt;)</c> instead of transcoding the name
/// on every read (both overloads end in the same search, so escaped names and repeated names are found alike).
/// </summary>
internal static class Utf8Names
{
    private static readonly UTF8Encoding Strict = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// The UTF-8 of <paramref name="name"/>; null when it is not valid UTF-16 (a lone surrogate), for which the string
    /// overload is used as before (and throws as before).
    /// </summary>
    public static byte[]? Encode(string? name)
    {
        if (name is null)
        {
            return null;
        }

        try
        {
            return Strict.GetBytes(name);
        }
        catch (EncoderFallbackException)
        {
            return null;
        }
    }
}
