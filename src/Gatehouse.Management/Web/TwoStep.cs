using System.Security.Cryptography;
using System.Text;
using OtpNet;
using QRCoder;

namespace Gatehouse.Management.Web;

/// <summary>
/// Two-step sign-in with an authenticator app (RFC 6238: SHA-1, six digits, 30-second steps, which every authenticator
/// app reads from an <c>otpauth://</c> QR code) and one-time recovery codes. The codes are Otp.NET's, the QR code
/// QRCoder's, drawn as SVG on the server so the page needs no script.
/// </summary>
internal static class TwoStep
{
    /// <summary>How many recovery codes a user is given; each works once.</summary>
    public const int RecoveryCodeCount = 10;

    // A code from the step before or after the server's is taken too: a phone's clock a little off, or a code typed as
    // it turned over. Each step is taken once (the store keeps the last one).
    private static readonly VerificationWindow Window = new(previous: 1, future: 1);

    /// <summary>A new secret of 160 bits (RFC 4226's recommended length), in the Base32 an authenticator takes.</summary>
    public static string NewSecret() => Base32Encoding.ToString(KeyGeneration.GenerateRandomKey(20));

    /// <summary>The <c>otpauth://</c> address an authenticator app reads from the QR code.</summary>
    public static string AuthenticatorUri(string issuer, string account, string secret) =>
        $"otpauth://totp/{Uri.EscapeDataString(issuer)}:{Uri.EscapeDataString(account)}?secret={secret}&issuer={Uri.EscapeDataString(issuer)}&algorithm=SHA1&digits=6&period=30";

    /// <summary>The QR code of <paramref name="text"/> as a <c>data:</c> URI of an SVG image (the pages' CSP allows <c>img-src data:</c>).</summary>
    public static string QrCodeImage(string text)
    {
        using var generator = new QRCodeGenerator();
        using var data = generator.CreateQrCode(text, QRCodeGenerator.ECCLevel.M);
        var svg = new SvgQRCode(data).GetGraphic(4, "#000000", "#ffffff", drawQuietZones: true, SvgQRCode.SizingMode.ViewBoxAttribute);
        return "data:image/svg+xml;base64," + Convert.ToBase64String(Encoding.UTF8.GetBytes(svg));
    }

    /// <summary>
    /// The time step an authenticator code is right for at <paramref name="now"/>, or null. Spaces in the code are
    /// ignored (apps show it as "123 456").
    /// </summary>
    public static long? MatchStep(string secret, string code, DateTimeOffset now)
    {
        var digits = code.Replace(" ", "", StringComparison.Ordinal);
        if (digits.Length != 6 || !digits.All(char.IsAsciiDigit))
        {
            return null;
        }

        var totp = new Totp(Base32Encoding.ToBytes(secret));
        return totp.VerifyTotp(now.UtcDateTime, digits, out var step, Window) ? step : null;
    }

    /// <summary>True when <paramref name="code"/> looks like a recovery code rather than an authenticator's six digits.</summary>
    public static bool IsRecoveryCode(string code) => NormalizeRecovery(code).Length == 10;

    /// <summary>New recovery codes (<c>xxxxx-xxxxx</c>, 50 bits each) and the hashes the store keeps of them.</summary>
    public static (string[] Codes, string[] Hashes) NewRecoveryCodes()
    {
        const string alphabet = "abcdefghjkmnpqrstuvwxyz23456789"; // no 0/o, 1/l/i: read off paper
        var codes = new string[RecoveryCodeCount];
        for (var i = 0; i < codes.Length; i++)
        {
            var chars = RandomNumberGenerator.GetString(alphabet, 10);
            codes[i] = chars[..5] + "-" + chars[5..];
        }

        return (codes, [.. codes.Select(RecoveryHash)]);
    }

    /// <summary>
    /// What the store keeps of a recovery code: SHA-256, not a password hash, since a code has 50 random bits and is
    /// useless once used or once the secret is replaced.
    /// </summary>
    public static string RecoveryHash(string code) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.ASCII.GetBytes(NormalizeRecovery(code))));

    private static string NormalizeRecovery(string code)
    {
        var builder = new StringBuilder(10);
        foreach (var c in code)
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                builder.Append(char.ToLowerInvariant(c));
            }
            else if (c is not '-' and not ' ')
            {
                return "";
            }
        }

        return builder.ToString();
    }
}
