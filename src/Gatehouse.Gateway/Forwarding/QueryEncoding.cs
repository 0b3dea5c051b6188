using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>
/// Builds the query part of the upstream request target from the client's query, so that the target holds only
/// bytes the gateway has checked. Kestrel hands the query on as the client sent it: over HTTP/1.1 with CTLs, DEL
/// and <c>#</c>; over HTTP/2 also with SP and any non-ASCII character (decoded from UTF-8). SocketsHttpHandler's
/// HTTP/1.1 writer assumes an ASCII target and, given anything else, wrote stale bytes of its connection's buffer
/// upstream (issue 16, F1; see docs/proxying.md). Here every character outside visible ASCII, and <c>#</c> (which
/// would end the target for the upstream), is percent-encoded as UTF-8; everything else is kept byte for byte,
/// so a query the client had already encoded arrives exactly as sent.
/// </summary>
internal static class QueryEncoding
{
    // Visible ASCII except '#'. '%' stays as it is: re-encoding it would change what an already encoded query means.
    private static readonly SearchValues<char> Verbatim = SearchValues.Create(
        "!\"$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~");

    /// <summary>True when <paramref name="query"/> can go upstream as it is (the common case: one vectorized scan).</summary>
    public static bool IsCanonical(ReadOnlySpan<char> query) => query.IndexOfAnyExcept(Verbatim) < 0;

    /// <summary>
    /// Appends <paramref name="query"/> (with its leading <c>?</c>, or empty) in canonical form. False, with nothing
    /// useful appended, when it holds a lone UTF-16 surrogate: no byte sequence stands for that, so the request is refused.
    /// </summary>
    public static bool TryAppend(ref DefaultInterpolatedStringHandler target, ReadOnlySpan<char> query)
    {
        Span<byte> utf8 = stackalloc byte[4];
        while (!query.IsEmpty)
        {
            var at = query.IndexOfAnyExcept(Verbatim);
            if (at < 0)
            {
                target.AppendFormatted(query);
                return true;
            }

            target.AppendFormatted(query[..at]);
            if (Rune.DecodeFromUtf16(query[at..], out var rune, out var consumed) != OperationStatus.Done)
            {
                return false;
            }

            var written = rune.EncodeToUtf8(utf8);
            for (var i = 0; i < written; i++)
            {
                target.AppendLiteral("%");
                target.AppendFormatted(utf8[i], "X2");
            }

            query = query[(at + consumed)..];
        }

        return true;
    }
}
