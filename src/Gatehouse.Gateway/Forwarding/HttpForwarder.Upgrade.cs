using Gatehouse.Gateway.Routing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.Gateway.Forwarding;

internal sealed partial class HttpForwarder
{
    /// <summary>
    /// The protocols of an HTTP/1.1 <c>Upgrade</c> request that the route tunnels (its <c>upgrades</c>, by default only
    /// <c>websocket</c>), as the value to send upstream; null when none is allowed, and the request is then forwarded as an
    /// ordinary one without its Upgrade header. An allow-list, because after a 101 the gateway no longer sees what crosses:
    /// <c>h2c</c> would let a client speak HTTP/2 straight to the upstream with requests the gateway never routes or checks
    /// ("h2c smuggling"), and any other protocol a backend happens to understand would do the same (issue 16, F5).
    /// Tokens match whole and case-insensitively, so neither <c>h2c/1</c> nor <c>websocket/13</c> passes as <c>websocket</c>.
    /// </summary>
    private static string? AllowedUpgrades(StringValues upgrade, RouteModel route)
    {
        string? allowed = null;
        foreach (var value in upgrade)
        {
            if (value is null)
            {
                continue;
            }

            foreach (var range in value.AsSpan().Split(','))
            {
                var token = value.AsSpan(range).Trim();
                if (!token.IsEmpty && route.AllowsUpgrade(token))
                {
                    allowed = allowed is null ? token.ToString() : $"{allowed}, {token}";
                }
            }
        }

        return allowed;
    }

    /// <summary>
    /// After the upstream answered 101 (WebSocket and other HTTP/1.1 upgrades): switch the client connection
    /// too and copy bytes both ways until either side closes. A client that opened with an HTTP/2 extended
    /// CONNECT (<paramref name="extendedConnect"/>) gets the 200 that stands for 101 in HTTP/2.
    /// </summary>
    /// <param name="closing">
    /// For a WebSocket: fires when a drain closes the listeners; the client is then sent a close frame (1001, going away)
    /// at the next frame boundary, so it reconnects elsewhere instead of seeing the connection cut at drainTimeout.
    /// </param>
    private static async Task TunnelAsync(HttpContext context, IHttpUpgradeFeature? upgradeFeature, IHttpExtendedConnectFeature? extendedConnect, HttpResponseMessage response, CancellationToken closing, CancellationToken cancellation)
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
        var toClient = closing.CanBeCanceled
            ? WebSocketDrain.CopyToClientAsync(upstreamStream, clientStream, closing, both.Token)
            : CopyUntilClosedAsync(upstreamStream, clientStream, both.Token);
        if (await Task.WhenAny(toUpstream, toClient).ConfigureAwait(false) == toClient && closing.IsCancellationRequested)
        {
            // The client was sent a close frame: give its answer (relayed to the upstream, which so learns the
            // session ended) a moment to cross before the tunnel ends.
            await Task.WhenAny(toUpstream, Task.Delay(TimeSpan.FromSeconds(1), CancellationToken.None)).ConfigureAwait(false);
        }

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

    private static bool IsWebSocket(string protocols) =>
        protocols.Contains("websocket", StringComparison.OrdinalIgnoreCase);

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
