using System.Security.Cryptography;

namespace Gatehouse.Tests.Support;

/// <summary>
/// Authenticator codes as the RFCs define them (RFC 6238 over RFC 4226: HMAC-SHA-1, dynamic truncation, six digits,
/// 30-second steps), written here from the RFCs so that the tests do not check the console's library against itself.
/// Linked into the management and browser tests.
/// </summary>
internal static class Rfc6238
{
    public static string Code(string base32Key, DateTimeOffset at)
    {
        var counter = new byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(counter, at.ToUnixTimeSeconds() / 30);
        var mac = HMACSHA1.HashData(Base32(base32Key), counter);
        var offset = mac[^1] & 0x0f;
        var value = ((mac[offset] & 0x7f) << 24) | (mac[offset + 1] << 16) | (mac[offset + 2] << 8) | mac[offset + 3];
        return (value % 1_000_000).ToString("D6", System.Globalization.CultureInfo.InvariantCulture);
    }

    // RFC 4648 base32, upper case, no padding.
    private static byte[] Base32(string text)
    {
        var bytes = new List<byte>();
        int buffer = 0, bits = 0;
        foreach (var c in text)
        {
            buffer = (buffer << 5) | "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".IndexOf(c, StringComparison.Ordinal);
            bits += 5;
            if (bits >= 8)
            {
                bytes.Add((byte)(buffer >> (bits - 8)));
                bits -= 8;
            }
        }

        return [.. bytes];
    }
}
