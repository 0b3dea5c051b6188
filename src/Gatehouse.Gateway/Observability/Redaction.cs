using System.Text;

namespace Gatehouse.Gateway.Observability;

/// <summary>
/// The one place that decides what of a request may be written down (access log, span attributes). Headers are never
/// written, except the user agent; bodies never. A query keeps its parameter names, and loses the value of every parameter
/// that can hold a secret: the configured API key parameter and the usual names of tokens, keys, passwords and signatures.
/// </summary>
internal static class Redaction
{
    /// <summary>What replaces a redacted value.</summary>
    public const string Mask = "REDACTED";

    private static readonly string[] SecretNames =
    [
        "api_key", "apikey", "api-key", "key", "access_token", "token", "id_token", "refresh_token", "auth", "authorization",
        "password", "passwd", "pwd", "secret", "client_secret", "signature", "sig", "code", "session", "jwt", "credential",
    ];

    /// <summary><paramref name="query"/> (with its <c>?</c>, or empty) with secret parameters' values replaced by <see cref="Mask"/>.</summary>
    public static string Query(string query, string? keyParameter)
    {
        if (query.Length <= 1)
        {
            return "";
        }

        var builder = new StringBuilder(query.Length);
        builder.Append('?');
        var parts = query.AsSpan(1);
        var first = true;
        while (true)
        {
            var amp = parts.IndexOf('&');
            var part = amp < 0 ? parts : parts[..amp];
            if (!first)
            {
                builder.Append('&');
            }

            first = false;
            var eq = part.IndexOf('=');
            var name = eq < 0 ? part : part[..eq];
            if (eq >= 0 && IsSecret(name, keyParameter))
            {
                builder.Append(name).Append('=').Append(Mask);
            }
            else
            {
                builder.Append(part);
            }

            if (amp < 0)
            {
                break;
            }

            parts = parts[(amp + 1)..];
        }

        return builder.ToString();
    }

    private static bool IsSecret(ReadOnlySpan<char> rawName, string? keyParameter)
    {
        // Names are compared decoded, so that 'api%5Fkey' is 'api_key'.
        var name = rawName.Contains('%') || rawName.Contains('+') ? Uri.UnescapeDataString(rawName.ToString().Replace('+', ' ')).AsSpan() : rawName;
        if (keyParameter is not null && name.Equals(keyParameter, StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        foreach (var secret in SecretNames)
        {
            if (name.Equals(secret, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
