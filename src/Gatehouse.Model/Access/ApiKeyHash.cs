using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.Model.Access;

/// <summary>How API keys and service tokens are made and stored: random, prefixed, kept only as SHA-256.</summary>
public static class ApiKeyHash
{
    /// <summary>Prefix of application API keys.</summary>
    public const string KeyPrefix = "ghk_";

    /// <summary>Random bytes in a key: 192 bits, above the 128 the security guidance asks for.</summary>
    public const int RandomBytes = 24;

    /// <summary>A new key: <paramref name="prefix"/> plus 32 base64url characters of fresh randomness.</summary>
    public static string NewKey(string prefix = KeyPrefix) =>
        prefix + Convert.ToBase64String(RandomNumberGenerator.GetBytes(RandomBytes)).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Lower-case hex SHA-256 of <paramref name="key"/>'s UTF-8 bytes: what config and stores keep.</summary>
    public static string Sha256Hex(string key) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(key)));

    /// <summary>The longest presented key that is hashed at all (in characters); a longer one is no key of ours.</summary>
    public const int MaxKeyLength = 512;

    /// <summary>Writes the lower-case hex SHA-256 of the UTF-8 key <paramref name="utf8Key"/> into 64 chars of <paramref name="hex"/>.</summary>
    public static void Sha256Hex(ReadOnlySpan<byte> utf8Key, Span<char> hex)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(utf8Key, hash);
        Convert.TryToHexStringLower(hash, hex, out _);
    }

    /// <summary>The shown part of a key: its prefix and four more characters (<c>ghk_1a2b</c>).</summary>
    public static string DisplayPrefix(string key)
    {
        var underscore = key.IndexOf('_', StringComparison.Ordinal);
        return key[..Math.Min(key.Length, (underscore < 0 ? 0 : underscore + 1) + 4)];
    }

    /// <summary>True when <paramref name="value"/> is 64 lower-case hex characters.</summary>
    public static bool IsSha256Hex(string value) => value.Length == 64 && value.All(c => char.IsAsciiDigit(c) || c is >= 'a' and <= 'f');
}
