using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Model.Access;

/// <summary>
/// One spelling for the ways config names a client certificate, used both when config is checked and when a
/// certificate is matched, so that what validates is exactly what matches.
/// </summary>
public static class ClientCertificateNames
{
    /// <summary>A SHA-256 thumbprint as 64 upper-case hex characters (colons and case ignored); null when it is not one.</summary>
    public static string? NormalizeThumbprint(string text)
    {
        var hex = text.Replace(":", "", StringComparison.Ordinal).Trim();
        return hex.Length == 64 && hex.All(char.IsAsciiHexDigit) ? hex.ToUpperInvariant() : null;
    }

    /// <summary>A distinguished name as .NET formats it after encoding it (<c>CN=erp, O=Acme</c>); null when it does not parse.</summary>
    public static string? NormalizeName(string text)
    {
        if (string.IsNullOrWhiteSpace(text) || !text.Contains('=', StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            return new X500DistinguishedName(text).Name;
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}
