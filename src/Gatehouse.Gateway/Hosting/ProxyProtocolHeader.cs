using System.Buffers.Binary;
using System.Net;
using System.Text;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// The PROXY protocol header (versions 1 and 2, HAProxy's "proxy-protocol.txt") that a TCP load balancer (HAProxy,
/// AWS NLB, Google's and Azure's load balancers, nginx's stream module) writes before the client's bytes, saying whose
/// connection it is. Written here because no package served to this build parses it; it is small and fully specified.
/// </summary>
internal static class ProxyProtocolHeader
{
    /// <summary>Version 1's longest header, CRLF included.</summary>
    public const int MaxV1Length = 107;

    private static ReadOnlySpan<byte> V2Signature => [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A];

    private static ReadOnlySpan<byte> V1Prefix => "PROXY "u8;

    /// <summary>How a read of the first bytes of a connection ended.</summary>
    public enum Outcome
    {
        /// <summary>More bytes are needed: <c>needed</c> says at least how many in all.</summary>
        Incomplete,

        /// <summary>A whole header of <c>consumed</c> bytes; <c>source</c> is null when it names no client (LOCAL, UNKNOWN, UNSPEC).</summary>
        Parsed,

        /// <summary>Not a PROXY header, or a malformed one: <c>reason</c> says what.</summary>
        Invalid,
    }

    /// <summary>
    /// Reads the header at the start of <paramref name="data"/>. A connection whose first bytes are anything else is not
    /// guessed at: the protocol's rule is that a receiver configured for it requires it.
    /// </summary>
    public static Outcome TryParse(ReadOnlySpan<byte> data, out int consumed, out int needed, out IPEndPoint? source, out string? reason)
    {
        (consumed, needed, source, reason) = (0, 0, null, null);
        if (data.IsEmpty)
        {
            needed = 1;
            return Outcome.Incomplete;
        }

        return data[0] == V2Signature[0] ? ParseV2(data, out consumed, out needed, out source, out reason) : ParseV1(data, out consumed, out needed, out source, out reason);
    }

    private static Outcome ParseV1(ReadOnlySpan<byte> data, out int consumed, out int needed, out IPEndPoint? source, out string? reason)
    {
        (consumed, needed, source, reason) = (0, 0, null, null);
        var prefix = Math.Min(data.Length, V1Prefix.Length);
        if (!data[..prefix].SequenceEqual(V1Prefix[..prefix]))
        {
            reason = "the connection does not start with a PROXY protocol header";
            return Outcome.Invalid;
        }

        var end = data[..Math.Min(data.Length, MaxV1Length)].IndexOf("\r\n"u8);
        if (end < 0)
        {
            if (data.Length >= MaxV1Length)
            {
                reason = $"a version 1 header has no CRLF within {MaxV1Length} bytes";
                return Outcome.Invalid;
            }

            needed = data.Length + 1;
            return Outcome.Incomplete;
        }

        consumed = end + 2;
        var line = Encoding.ASCII.GetString(data[V1Prefix.Length..end]);
        var parts = line.Split(' ');
        if (parts[0] == "UNKNOWN")
        {
            return Outcome.Parsed; // the balancer could not say (a health check of its own): the connection's address stays
        }

        if (parts.Length != 5 || parts[0] is not ("TCP4" or "TCP6"))
        {
            reason = $"a version 1 header must be 'PROXY TCP4|TCP6 SOURCE DESTINATION SPORT DPORT' or 'PROXY UNKNOWN', not 'PROXY {line}'";
            return Outcome.Invalid;
        }

        var family = parts[0] == "TCP4" ? System.Net.Sockets.AddressFamily.InterNetwork : System.Net.Sockets.AddressFamily.InterNetworkV6;
        if (!IPAddress.TryParse(parts[1], out var address) || address.AddressFamily != family || !IPAddress.TryParse(parts[2], out var destination)
            || destination.AddressFamily != family || !TryPort(parts[3], out var port) || !TryPort(parts[4], out _))
        {
            reason = $"a version 1 header's addresses or ports do not read as {parts[0]}: 'PROXY {line}'";
            return Outcome.Invalid;
        }

        source = new IPEndPoint(address, port);
        return Outcome.Parsed;
    }

    private static Outcome ParseV2(ReadOnlySpan<byte> data, out int consumed, out int needed, out IPEndPoint? source, out string? reason)
    {
        (consumed, needed, source, reason) = (0, 0, null, null);
        var signature = Math.Min(data.Length, V2Signature.Length);
        if (!data[..signature].SequenceEqual(V2Signature[..signature]))
        {
            reason = "the connection does not start with a PROXY protocol header";
            return Outcome.Invalid;
        }

        if (data.Length < 16)
        {
            needed = 16;
            return Outcome.Incomplete;
        }

        var versionAndCommand = data[12];
        if (versionAndCommand >> 4 != 2)
        {
            reason = $"the PROXY protocol header has version {versionAndCommand >> 4}; version 2 is the binary one";
            return Outcome.Invalid;
        }

        var command = versionAndCommand & 0x0F;
        if (command > 1)
        {
            reason = $"the PROXY protocol header has command {command}; only LOCAL (0) and PROXY (1) exist";
            return Outcome.Invalid;
        }

        var length = BinaryPrimitives.ReadUInt16BigEndian(data[14..16]);
        if (data.Length < 16 + length)
        {
            needed = 16 + length;
            return Outcome.Incomplete;
        }

        consumed = 16 + length;
        var addresses = data.Slice(16, length);
        var family = data[13] >> 4;
        var transport = data[13] & 0x0F;
        // LOCAL is the balancer speaking for itself (its health checks); UNSPEC and UNIX sockets name no IP client.
        // The TLVs after the addresses (TLS details, a cloud's endpoint id) are skipped.
        if (command == 0 || family is 0 or 3 || transport == 0)
        {
            return Outcome.Parsed;
        }

        var size = family switch { 1 => 4, 2 => 16, _ => 0 };
        if (size == 0 || addresses.Length < 2 * size + 4)
        {
            reason = size == 0
                ? $"the PROXY protocol header has address family {family}; 1 (IPv4), 2 (IPv6), 3 (unix) and 0 exist"
                : $"the PROXY protocol header's address block is {addresses.Length} bytes, shorter than its family's {2 * size + 4}";
            return Outcome.Invalid;
        }

        source = new IPEndPoint(new IPAddress(addresses[..size]), BinaryPrimitives.ReadUInt16BigEndian(addresses.Slice(2 * size, 2)));
        return Outcome.Parsed;
    }

    private static bool TryPort(string text, out int port)
    {
        port = 0;
        if (text.Length is 0 or > 5 || (text.Length > 1 && text[0] == '0') || !text.All(char.IsAsciiDigit))
        {
            return false;
        }

        port = int.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
        return port <= 65535;
    }
}
