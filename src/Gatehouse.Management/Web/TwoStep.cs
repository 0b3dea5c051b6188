using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Http;
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

/// <summary>
/// The Data Protection protectors of one site's two-step sign-in (<paramref name="site"/>: console or portal, each with its
/// own key ring): the stored secrets, the set-up form's secret, the half-done sign-in's ticket and the new recovery codes
/// on their way to the page that shows them.
/// </summary>
internal sealed class TwoStepKeys(IDataProtectionProvider provider, TimeProvider time, string site)
{
    /// <summary>How long the second form of a sign-in (and the new codes' cookie) lasts.</summary>
    public static readonly TimeSpan TicketLifetime = TimeSpan.FromMinutes(5);

    /// <summary>How long a set-up form lasts.</summary>
    public static readonly TimeSpan SetupLifetime = TimeSpan.FromMinutes(15);

    public IDataProtector Secrets { get; } = provider.CreateProtector($"Gatehouse.{site}.TwoStep.Secret");

    public ITimeLimitedDataProtector Setup { get; } = provider.CreateProtector($"Gatehouse.{site}.TwoStep.Setup").ToTimeLimitedDataProtector();

    public ITimeLimitedDataProtector Tickets { get; } = provider.CreateProtector($"Gatehouse.{site}.TwoStep.Ticket").ToTimeLimitedDataProtector();

    public ITimeLimitedDataProtector NewCodes { get; } = provider.CreateProtector($"Gatehouse.{site}.TwoStep.NewCodes").ToTimeLimitedDataProtector();

    public TimeProvider Time => time;

    public string? Unprotect(ITimeLimitedDataProtector protector, string value)
    {
        try
        {
            return value.Length is > 0 and <= 4096 ? protector.Unprotect(value) : null;
        }
        catch (CryptographicException)
        {
            return null; // expired, or not one of ours
        }
    }

    /// <summary>
    /// The set-up part of an account page: a new secret, its QR code (labelled with the site's host and
    /// <paramref name="label"/>) and the form's protected copy, bound to <paramref name="owner"/>.
    /// </summary>
    public TwoStepView NewSetup(string action, HttpContext context, string owner, string label, bool required)
    {
        var secret = TwoStep.NewSecret();
        var issuer = "Gatehouse " + context.Request.Host.Host;
        return new TwoStepView(action, false, 0, TwoStep.QrCodeImage(TwoStep.AuthenticatorUri(issuer, label, secret)), secret,
            Setup.Protect(owner + "\n" + secret, SetupLifetime), null, required);
    }

    // Post, redirect, get: new recovery codes travel to the account page in a protected cookie that lives five minutes
    // and is read once, so a reload does not post the form again and the codes are never kept anywhere else.
    private const string NewCodesCookie = "gatehouse.two-step.codes";

    /// <summary>Hands <paramref name="codes"/>, made for <paramref name="owner"/>, to the next GET of <paramref name="page"/>.</summary>
    public void PassNewCodes(HttpContext context, string page, string owner, string[] codes) =>
        context.Response.Cookies.Append(NewCodesCookie, NewCodes.Protect(owner + "\n" + string.Join(' ', codes), TicketLifetime), CodesCookie(context, page));

    /// <summary>The codes <see cref="PassNewCodes"/> handed to this page for <paramref name="owner"/>, once; else null.</summary>
    public string[]? TakeNewCodes(HttpContext context, string page, string owner)
    {
        if (context.Request.Cookies[NewCodesCookie] is not { } cookie)
        {
            return null;
        }

        context.Response.Cookies.Delete(NewCodesCookie, CodesCookie(context, page));
        context.Response.Headers.CacheControl = "no-store";
        return Unprotect(NewCodes, cookie)?.Split('\n') is [var who, var codes] && who == owner ? codes.Split(' ') : null;
    }

    private static CookieOptions CodesCookie(HttpContext context, string page) => new()
    {
        HttpOnly = true,
        Secure = context.Request.IsHttps,
        SameSite = SameSiteMode.Strict,
        Path = page,
        MaxAge = TicketLifetime,
    };

    /// <summary>The secret of a set-up form made for <paramref name="owner"/>; null when it is expired, forged or another's.</summary>
    public string? SetupSecret(string form, string owner) =>
        Unprotect(Setup, form)?.Split('\n') is [var who, var secret] && who == owner ? secret : null;

    /// <summary>
    /// An authenticator's code for <paramref name="stored"/> (a protected secret): the time step it is right for now,
    /// or null (also when the key that protected the secret is gone from the key ring).
    /// </summary>
    public long? MatchStored(string stored, string code)
    {
        try
        {
            return TwoStep.MatchStep(Secrets.Unprotect(stored), code, time.GetUtcNow());
        }
        catch (CryptographicException)
        {
            return null;
        }
    }
}

/// <summary>
/// The two-step part of an account page (<c>TwoStepSection</c>), posting under <paramref name="Action"/>. Off:
/// <paramref name="QrImage"/> and <paramref name="Secret"/> to add to an authenticator app, and <paramref name="Setup"/>, the
/// form's protected copy of the secret. On: how many recovery codes are left, and <paramref name="NewCodes"/> right after
/// they were made (shown once). <paramref name="Required"/>: it may not be turned off here.
/// </summary>
public sealed record TwoStepView(string Action, bool On, int RecoveryLeft, string? QrImage, string? Secret, string? Setup, IReadOnlyList<string>? NewCodes, bool Required);
