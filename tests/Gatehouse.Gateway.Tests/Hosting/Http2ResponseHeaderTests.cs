using Gatehouse.Gateway.Tests.Infrastructure;

namespace Gatehouse.Gateway.Tests.Hosting;

/// <summary>
/// Issue #25: on HTTP/2 the gateway's response headers are sent without HPACK's dynamic table (cheaper per request, and
/// nothing a response carries lands in a table shared by the connection's other responses).
/// </summary>
[Trait("Issue", "25")]
public sealed class Http2ResponseHeaderTests
{
    [Fact]
    public async Task ResponseHeaders_AreNeverAddedToTheDynamicTable()
    {
        await using var backend = await TestBackend.StartEchoAsync();
        await using var gateway = await TestGateway.StartAsync($$"""
            version: 1
            gateway:
              listeners:
                - url: http://127.0.0.1:0
                - url: http://127.0.0.1:0
                  protocols: http2
            services:
              backend:
                targets: [{{backend.Url}}]
            routes:
              all:
                path: /{**rest}
                service: backend
            """);
        var port = new Uri(gateway.Host.Urls[1]).Port;

        var outcome = await RawHttp2Client.SendAsync(port, [
            (":method"u8.ToArray(), "GET"u8.ToArray()),
            (":scheme"u8.ToArray(), "http"u8.ToArray()),
            (":authority"u8.ToArray(), "localhost"u8.ToArray()),
            (":path"u8.ToArray(), "/anything"u8.ToArray()),
        ], null, tls: false);

        Assert.Equal(200, outcome.Status);
        var representations = Representations(outcome.HeaderBlock!);
        // :status, content-type, date, the request id at least: all of them static-table indexes or literals.
        Assert.True(representations.Count >= 4, string.Join(", ", representations) + " / " + Convert.ToHexString(outcome.HeaderBlock!));
        Assert.DoesNotContain("literal with incremental indexing", representations);
        Assert.DoesNotContain("dynamic table size update", representations);
    }

    /// <summary>The kind of each representation in an HPACK block (RFC 7541, section 6), skipping their integers and strings.</summary>
    private static List<string> Representations(byte[] block)
    {
        var kinds = new List<string>();
        var at = 0;
        while (at < block.Length)
        {
            var first = block[at];
            if ((first & 0x80) != 0)
            {
                kinds.Add("indexed");
                SkipInteger(block, ref at, 7);
            }
            else if ((first & 0xC0) == 0x40)
            {
                kinds.Add("literal with incremental indexing");
                SkipLiteral(block, ref at, 6);
            }
            else if ((first & 0xE0) == 0x20)
            {
                kinds.Add("dynamic table size update");
                SkipInteger(block, ref at, 5);
            }
            else
            {
                kinds.Add((first & 0xF0) == 0x10 ? "literal never indexed" : "literal without indexing");
                SkipLiteral(block, ref at, 4);
            }
        }

        return kinds;
    }

    private static void SkipLiteral(byte[] block, ref int at, int prefix)
    {
        var nameIndex = block[at] & ((1 << prefix) - 1);
        SkipInteger(block, ref at, prefix);
        if (nameIndex == 0)
        {
            SkipString(block, ref at);
        }

        SkipString(block, ref at);
    }

    private static void SkipString(byte[] block, ref int at)
    {
        var length = SkipInteger(block, ref at, 7);
        at += length;
    }

    private static int SkipInteger(byte[] block, ref int at, int prefix)
    {
        var max = (1 << prefix) - 1;
        var value = block[at++] & max;
        if (value < max)
        {
            return value;
        }

        var shift = 0;
        byte next;
        do
        {
            next = block[at++];
            value += (next & 0x7F) << shift;
            shift += 7;
        }
        while ((next & 0x80) != 0);

        return value;
    }
}
