using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Gateway.Forwarding;

internal sealed partial class HttpForwarder
{
    /// <summary>
    /// After the upstream answered 101 (WebSocket and other HTTP/1.1 upgrades): switch the client connection
    /// too and copy bytes both ways until either side closes.
    /// </summary>
    private static async Task TunnelAsync(HttpContext context, IHttpUpgradeFeature upgradeFeature, HttpResponseMessage response, CancellationToken cancellation)
    {
        foreach (var header in response.Headers.NonValidated)
        {
            if (!string.Equals(header.Key, "Connection", StringComparison.OrdinalIgnoreCase)
                && !string.Equals(header.Key, "Keep-Alive", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.Headers[header.Key] = ToStringValues(header.Value);
            }
        }

        await using var upstreamStream = await response.Content.ReadAsStreamAsync(cancellation).ConfigureAwait(false);
        await using var clientStream = await upgradeFeature.UpgradeAsync().ConfigureAwait(false);
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
