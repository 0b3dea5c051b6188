using System.Buffers;
using System.Diagnostics.Metrics;
using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// A listener with <c>proxyProtocol: true</c>: each connection must come from <c>gateway.trustedProxies</c> and start
/// with a PROXY protocol header (version 1 or 2), whose client address then is the connection's for everything after
/// it (limits per address, IP filters, the access log, <c>X-Forwarded-For</c> to services). Runs before TLS, since the
/// header comes before the handshake. Anything else is closed at once, and counted: a connection from elsewhere (the
/// balancer is not the only way in), without the header, with a malformed one, or one that says nothing for
/// <see cref="HeaderTimeout"/>.
/// </summary>
internal sealed partial class ProxyProtocolMiddleware(ConnectionDelegate next, string listener, Func<IPAddress?, bool> trusted, TimeProvider time, ILogger logger)
{
    /// <summary>How long a connection has to send its header.</summary>
    public static readonly TimeSpan HeaderTimeout = TimeSpan.FromSeconds(5);

    // v2's longest header: 16 bytes and a 16-bit length.
    private const int MaxHeader = 16 + ushort.MaxValue;

    private static readonly Counter<long> Refused = Observability.GatewayMetrics.Instance.CreateCounter<long>("gatehouse.listener.proxy_protocol.refused", "{connection}",
        "Connections a proxyProtocol listener closed before HTTP, by reason: untrusted (not from gateway.trustedProxies), malformed (no or a bad PROXY header), timeout");

    public async Task OnConnectionAsync(ConnectionContext connection)
    {
        var peer = (connection.RemoteEndPoint as IPEndPoint)?.Address;
        if (!trusted(peer))
        {
            Refuse("untrusted", $"{peer} is not in gateway.trustedProxies");
            return;
        }

        var input = connection.Transport.Input;
        using var timeout = new CancellationTokenSource(HeaderTimeout, time);
        IPEndPoint? source;
        try
        {
            while (true)
            {
                var result = await input.ReadAsync(timeout.Token).ConfigureAwait(false);
                var buffer = result.Buffer;
                var outcome = Parse(buffer, out var consumed, out var needed, out source, out var reason);
                if (outcome == ProxyProtocolHeader.Outcome.Parsed)
                {
                    input.AdvanceTo(buffer.GetPosition(consumed));
                    break;
                }

                if (outcome == ProxyProtocolHeader.Outcome.Invalid || result.IsCompleted)
                {
                    input.AdvanceTo(buffer.Start, buffer.End);
                    Refuse("malformed", $"{peer}: {reason ?? $"the connection closed within its PROXY protocol header ({buffer.Length} of {needed} bytes)"}");
                    return;
                }

                input.AdvanceTo(buffer.Start, buffer.End);
            }
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            Refuse("timeout", $"{peer} sent no whole PROXY protocol header within {HeaderTimeout.TotalSeconds:0} s");
            return;
        }

        if (source is not null)
        {
            connection.RemoteEndPoint = source;
        }

        await next(connection).ConfigureAwait(false);
    }

    private static ProxyProtocolHeader.Outcome Parse(ReadOnlySequence<byte> buffer, out int consumed, out int needed, out IPEndPoint? source, out string? reason)
    {
        if (buffer.IsSingleSegment)
        {
            return ProxyProtocolHeader.TryParse(buffer.FirstSpan, out consumed, out needed, out source, out reason);
        }

        // Split across segments (rare: a header is one small write): parse a copy of no more than a header can be.
        var length = (int)Math.Min(buffer.Length, MaxHeader);
        var copy = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            buffer.Slice(0, length).CopyTo(copy);
            return ProxyProtocolHeader.TryParse(copy.AsSpan(0, length), out consumed, out needed, out source, out reason);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(copy);
        }
    }

    private void Refuse(string reason, string detail)
    {
        Refused.Add(1, new KeyValuePair<string, object?>("listener", listener), new KeyValuePair<string, object?>("reason", reason));
        LogRefused(logger, listener, detail);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Listener {Listener} (proxyProtocol) closed a connection: {Detail}")]
    private static partial void LogRefused(ILogger logger, string listener, string detail);
}
