using System.Text;

namespace Gatehouse.Gateway.Tests.Infrastructure.Wire;

/// <summary>
/// Makes <see cref="WireCase"/>s from a seed: mostly plausible requests with arbitrary bytes (0x00–0xFF) mixed into the
/// method, the path, the query, header names and header values. Each part is hostile (any byte, CTLs, non-ASCII,
/// framing characters) one time in four and plain otherwise (visible ASCII and percent-encoding), so that a good share
/// of cases gets past the server's parser and the gateway's checks and is forwarded. The same seed gives the same cases.
/// </summary>
internal sealed class WireCaseGenerator(int seed)
{
    private static readonly byte[] Alphanumeric = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"u8.ToArray();
    private static readonly byte[] Delimiters = "/.%?#\\ \t;=&+:@!$'()*,[]<>\"{}|^`~_"u8.ToArray();
    private static readonly byte[] PlainDelimiters = "/.%?;=&+:@!$'()*,-_~"u8.ToArray();
    private static readonly string[] PlainFragments = ["%2E", "%2E%2E", "%25", "%FF", "%C3%A9", "%E2%82%AC", "%C3", "%G1", "%", "../", "./", "..", "%41"];
    private static readonly string[] Fragments =
    [
        "%2F", "%2f", "%5C", "%00", "%2E", "%2E%2E", "%25", "%FF", "%C3%A9", "%E2%82%AC", "%C3", "%G1", "%", "../", "./", "..",
        "é", "€", "😀", "\r\n", "\n", "\r", "\0", "\u000b", "\u000c", "\u007f", "?", "#", " ", "\t",
    ];

    // Names of headers the gateway manages or strips, and look-alikes of them; sent now and then with a plain value.
    private static readonly string[] Managed =
    [
        "gatehouse-plan", "gatehouse-application", "gatehouse_plan", "gatehouse-anything", "x-forwarded-for", "x_forwarded_for",
        "x-forwarded-host", "x-forwarded-prefix", "forwarded", "x-request-id", "x_request_id", "keep-alive", "proxy-authorization",
        "te", "trailer", "upgrade", "expect", "x-http-method-override", "http2-settings", "proxy-connection", "x_custom",
    ];

    private static readonly string[] Methods = ["GET", "POST", "DELETE", "PATCH", "OPTIONS", "PUT", "HEAD"];

    private readonly Random _random = new(seed);
    private int _index;

    public WireCase Next()
    {
        var method = _random.Next(10) < 8 ? "GET"u8.ToArray() : Encoding.ASCII.GetBytes(Methods[_random.Next(Methods.Length)]);
        if (_random.Next(8) == 0)
        {
            method = Mutate(method);
        }
        var target = new List<byte>("/p/"u8.ToArray());
        target.AddRange(RandomBytes(12, Hostile()));
        if (_random.Next(10) < 7)
        {
            target.Add((byte)'?');
            target.AddRange(RandomBytes(16, Hostile()));
        }

        var headers = new List<(byte[], byte[])>();
        var count = _random.Next(4);
        for (var i = 0; i < count; i++)
        {
            var name = Encoding.ASCII.GetBytes($"x-w{i}");
            headers.Add((_random.Next(8) == 0 ? Mutate(name) : name, RandomBytes(20, Hostile())));
        }

        if (_random.Next(8) == 0)
        {
            headers.Add((Encoding.ASCII.GetBytes(Managed[_random.Next(Managed.Length)]), Encoding.ASCII.GetBytes("forged")));
        }

        if (_random.Next(12) == 0)
        {
            // A Connection header naming one of the others: that one is hop-by-hop now.
            headers.Add(("connection"u8.ToArray(), "x-w0"u8.ToArray()));
        }

        // One field per name (case-insensitive), so a client's value is one line on either side.
        var unique = headers.DistinctBy(h => Encoding.Latin1.GetString(h.Item1).ToLowerInvariant()).ToList();
        return new WireCase(seed, _index++, method, [.. target], unique);
    }

    private byte[] Mutate(byte[] token)
    {
        var bytes = token.ToList();
        var edits = 1 + _random.Next(2);
        for (var i = 0; i < edits; i++)
        {
            var at = _random.Next(bytes.Count + 1);
            if (_random.Next(2) == 0 && at < bytes.Count)
            {
                bytes[at] = RandomByte();
            }
            else
            {
                bytes.Insert(at, RandomByte());
            }
        }

        return [.. bytes];
    }

    private bool Hostile() => _random.Next(4) == 0;

    private byte[] RandomBytes(int maxLength, bool hostile)
    {
        var bytes = new List<byte>();
        var length = _random.Next(maxLength + 1);
        while (bytes.Count < length)
        {
            if (_random.Next(5) == 0)
            {
                var fragments = hostile ? Fragments : PlainFragments;
                bytes.AddRange(Encoding.UTF8.GetBytes(fragments[_random.Next(fragments.Length)]));
            }
            else if (hostile)
            {
                bytes.Add(RandomByte());
            }
            else
            {
                bytes.Add(_random.Next(4) == 0 ? PlainDelimiters[_random.Next(PlainDelimiters.Length)] : Alphanumeric[_random.Next(Alphanumeric.Length)]);
            }
        }

        return [.. bytes];
    }

    private byte RandomByte()
    {
        var r = _random.Next(100);
        return r switch
        {
            < 45 => Alphanumeric[_random.Next(Alphanumeric.Length)],
            < 70 => Delimiters[_random.Next(Delimiters.Length)],
            < 82 => (byte)(_random.Next(2) == 0 ? _random.Next(0x20) : 0x7f),
            _ => (byte)(0x80 + _random.Next(0x80)),
        };
    }
}
