using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.Gateway.Forwarding;

internal sealed partial class HttpForwarder
{
    /// <summary>
    /// Whether a request Kestrel found upgradable is forwarded as an upgrade (and tunnelled after a 101).
    /// Not when it names no protocol (Kestrel only looks at <c>Connection: upgrade</c>), and never for
    /// <c>h2c</c>: after a 101 the client would speak HTTP/2 straight to the upstream, with requests the
    /// gateway never routes or checks ("h2c smuggling"); RFC 9113 removed that upgrade anyway. Such
    /// requests are forwarded as ordinary requests, without their Upgrade header.
    /// </summary>
    private static bool IsTunnelledUpgrade(StringValues upgrade)
    {
        var any = false;
        foreach (var value in upgrade)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var range in value.AsSpan().Split(','))
            {
                var token = value.AsSpan(range).Trim();
                if (token.Equals("h2c", StringComparison.OrdinalIgnoreCase))
                {
                    return false;
                }

                any |= !token.IsEmpty;
            }
        }

        return any;
    }

    /// <summary>
    /// After the upstream answered 101 (WebSocket and other HTTP/1.1 upgrades): switch the client connection
    /// too and copy bytes both ways until either side closes. A client that opened with an HTTP/2 extended
    /// CONNECT (<paramref name="extendedConnect"/>) gets the 200 that stands for 101 in HTTP/2.
    /// </summary>
    private static async Task TunnelAsync(HttpContext context, IHttpUpgradeFeature? upgradeFeature, IHttpExtendedConnectFeature? extendedConnect, HttpResponseMessage response, CancellationToken cancellation)
    {
        foreach (var header in response.Headers.NonValidated)
        {
            if (string.Equals(header.Key, "Connection", StringComparison.OrdinalIgnoreCase)
                || string.Equals(header.Key, "Keep-Alive", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            // HTTP/2 has no Upgrade header, and the HTTP/2 client sent no key for Sec-WebSocket-Accept to answer.
            if (extendedConnect is not null && (string.Equals(header.Key, "Upgrade", StringComparison.OrdinalIgnoreCase)
                || string.Equals(header.Key, "Sec-WebSocket-Accept", StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            context.Response.Headers[header.Key] = ToStringValues(header.Value);
        }

        await using var upstreamStream = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
        await using var clientStream = extendedConnect is not null
            ? await extendedConnect.AcceptAsync().ConfigureAwait(false)
            : await upgradeFeature!.UpgradeAsync().ConfigureAwait(false);
        using var both = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        var toUpstream = CopyUntilClosedAsync(clientStream, upstreamStream, both.Token);
        var toClient = CopyUntilClosedAsync(upstreamStream, clientStream, both.Token);
        await Task.WhenAny(toUpstream, toClient).ConfigureAwait(false);
        await both.CancelAsync().ConfigureAwait(false);
        try
        {
            await Task.WhenAll(toUpstream, toClient).ConfigureAwait(false);
        }
        catch (Exception) when (both.IsCancellationRequested)
        {
            // One side closed; the other copy was cancelled on purpose.
        }
    }

    private static async Task CopyUntilClosedAsync(Stream from, Stream to, CancellationToken cancellation)
    {
        try
        {
            await from.CopyToAsync(to, 16 * 1024, cancellation).ConfigureAwait(false);
        }
        catch (Exception) when (!cancellation.IsCancellationRequested)
        {
            // A reset on one side ends the tunnel; nothing more to tell either party.
        }
    }
}
