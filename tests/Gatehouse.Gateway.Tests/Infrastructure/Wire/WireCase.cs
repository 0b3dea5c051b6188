using System.Text;

namespace Gatehouse.Gateway.Tests.Infrastructure.Wire;

/// <summary>
/// One generated request for the differential wire test: raw bytes for the method, the request target (path and
/// query) and each header field, exactly as a client puts them on the wire.
/// </summary>
internal sealed record WireCase(int Seed, int Index, byte[] Method, byte[] Target, IReadOnlyList<(byte[] Name, byte[] Value)> Headers)
{
    /// <summary>The HTTP/1.1 request: request line, <c>Host: x</c>, the headers, no body.</summary>
    public byte[] Http1Bytes()
    {
        var bytes = new List<byte>();
        bytes.AddRange(Method);
        bytes.Add((byte)' ');
        bytes.AddRange(Target);
        bytes.AddRange(" HTTP/1.1\r\nHost: x\r\n"u8.ToArray());
        foreach (var (name, value) in Headers)
        {
            bytes.AddRange(name);
            bytes.AddRange(": "u8.ToArray());
            bytes.AddRange(value);
            bytes.AddRange("\r\n"u8.ToArray());
        }

        // No "Connection: close": the client closes after one response. Kestrel keeps only the known token of a Connection
        // line that also holds close, keep-alive or upgrade (a known limit in docs/proxying.md), which would hide whether
        // the gateway honours a generated "Connection: x-w0".
        bytes.AddRange("\r\n"u8.ToArray());
        return [.. bytes];
    }

    /// <summary>The HTTP/2 header fields: pseudo-headers, then the headers (sent as given, with no case change).</summary>
    public IEnumerable<(byte[] Name, byte[] Value)> Http2Fields()
    {
        yield return (":method"u8.ToArray(), Method);
        yield return (":scheme"u8.ToArray(), "http"u8.ToArray());
        yield return (":authority"u8.ToArray(), "x"u8.ToArray());
        yield return (":path"u8.ToArray(), Target);
        foreach (var header in Headers)
        {
            yield return header;
        }
    }

    /// <summary>A C# expression that rebuilds this case, for turning a failure into a named regression test.</summary>
    public override string ToString()
    {
        var headers = string.Join(", ", Headers.Select(h => $"({Literal(h.Name)}, {Literal(h.Value)})"));
        return $"seed {Seed} case {Index}: method {Literal(Method)}, target {Literal(Target)}, headers [{headers}]";
    }

    /// <summary>Bytes as a C#-style string with every byte outside visible ASCII written as \xNN.</summary>
    public static string Literal(byte[] bytes)
    {
        var sb = new StringBuilder("\"");
        foreach (var b in bytes)
        {
            sb.Append(b is >= 0x20 and < 0x7f and not (byte)'"' and not (byte)'\\' ? ((char)b).ToString() : $"\\x{b:X2}");
        }

        return sb.Append('"').ToString();
    }
}
