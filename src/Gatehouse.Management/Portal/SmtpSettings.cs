using System.Net;
using System.Security.Cryptography.X509Certificates;

namespace Gatehouse.Management.Portal;

/// <summary>How the portal's mail reaches users through an SMTP server (<c>--portal-smtp</c>; docs/portal.md).</summary>
public enum SmtpSecurity
{
    /// <summary><c>smtps://</c>: TLS from the first byte (port 465).</summary>
    Tls,

    /// <summary><c>smtp://</c>: the server must offer STARTTLS, and the connection is upgraded before anything is sent.</summary>
    StartTls,

    /// <summary><c>smtp://…?tls=none</c>: plain text, for a relay on this machine or a private network.</summary>
    None,
}

/// <summary>
/// An SMTP server to send through, from <c>--portal-smtp smtp[s]://[USER@]HOST[:PORT][?tls=none]</c>, with the password
/// from <see cref="PasswordVariable"/> and, for a private CA, the trusted roots from <c>--portal-smtp-ca</c>.
/// </summary>
public sealed record SmtpSettings(string Host, int Port, SmtpSecurity Security, string? UserName, string? Password)
{
    /// <summary>Where the SMTP password comes from: never the command line, which every user of the machine can read.</summary>
    public const string PasswordVariable = "GATEHOUSE_PORTAL_SMTP_PASSWORD";

    /// <summary>Roots the server's certificate must chain to, in place of the system's; null: the system's.</summary>
    public X509Certificate2Collection? TrustedRoots { get; init; }

    /// <summary>How long one connect, command or message may take before the attempt counts as failed.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Reads <paramref name="url"/>; <paramref name="password"/> is the value of <see cref="PasswordVariable"/> and
    /// <paramref name="caFile"/> a PEM file of trusted roots. A mistake is an <see cref="ArgumentException"/> whose message
    /// says what to change.
    /// </summary>
    public static SmtpSettings Parse(string url, string? password, string? caFile)
    {
        const string Form = "smtp://[USER@]HOST[:PORT] (STARTTLS, port 587 by default), smtps://[USER@]HOST[:PORT] (TLS, port 465) or smtp://HOST:PORT?tls=none";
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != "smtp" && uri.Scheme != "smtps") || uri.Host.Length == 0
            || uri.AbsolutePath is not ("" or "/") || uri.Fragment.Length > 0)
        {
            throw new ArgumentException($"--portal-smtp '{url}' is not {Form}.");
        }

        if (uri.UserInfo.Contains(':', StringComparison.Ordinal))
        {
            throw new ArgumentException($"--portal-smtp has a password in it; give only the user name there and put the password in the environment variable {PasswordVariable} (a command line is visible to every user of the machine).");
        }

        var security = uri.Scheme == "smtps" ? SmtpSecurity.Tls : SmtpSecurity.StartTls;
        var query = uri.Query.TrimStart('?');
        if (query.Length > 0)
        {
            if (query != "tls=none" || uri.Scheme != "smtp")
            {
                throw new ArgumentException($"--portal-smtp '{url}': the only option is ?tls=none, on smtp:// (plain text to a relay on this machine or a private network).");
            }

            security = SmtpSecurity.None;
        }

        var user = uri.UserInfo.Length > 0 ? Uri.UnescapeDataString(uri.UserInfo) : null;
        if (user is not null && string.IsNullOrEmpty(password))
        {
            throw new ArgumentException($"--portal-smtp names the user '{user}' but {PasswordVariable} is not set; set it to that user's SMTP password.");
        }

        var host = uri.Host.Trim('[', ']');
        if (user is not null && security == SmtpSecurity.None && !IsLoopback(host))
        {
            throw new ArgumentException($"--portal-smtp '{url}' would send the SMTP password to {host} in plain text; drop ?tls=none (STARTTLS) or use smtps://.");
        }

        X509Certificate2Collection? roots = null;
        if (caFile is not null)
        {
            roots = [];
            try
            {
                roots.ImportFromPemFile(caFile);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.Security.Cryptography.CryptographicException)
            {
                throw new ArgumentException($"--portal-smtp-ca '{caFile}' cannot be read as PEM certificates: {e.Message.ReplaceLineEndings(" ").Trim()}", e);
            }

            if (roots.Count == 0)
            {
                throw new ArgumentException($"--portal-smtp-ca '{caFile}' holds no PEM certificate.");
            }
        }

        var port = uri.IsDefaultPort || uri.Port <= 0 ? (security == SmtpSecurity.Tls ? 465 : 587) : uri.Port;
        return new SmtpSettings(host, port, security, user, user is null ? null : password) { TrustedRoots = roots };
    }

    private static bool IsLoopback(string host) =>
        host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out var ip) && IPAddress.IsLoopback(ip));

    /// <summary>Never prints the password.</summary>
    public override string ToString() => $"{(Security == SmtpSecurity.Tls ? "smtps" : "smtp")}://{(UserName is null ? "" : UserName + "@")}{Host}:{Port}{(Security == SmtpSecurity.None ? "?tls=none" : "")}";
}
