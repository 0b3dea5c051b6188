using System.Net.Http;
using System.Net.Sockets;

namespace Gatehouse.Gateway.Upstreams;

/// <summary>
/// Tells whose fault a failed upstream send was, so that passive health (and anything later that counts failures)
/// is charged only with the upstream's own: it could not be reached, reset, broke the protocol, or sent a response that
/// could not be read. A request the gateway could not build or write is not the upstream's failure (issue 16, F2).
/// </summary>
internal static class UpstreamFaults
{
    /// <summary>What a send that threw <paramref name="e"/> (before response headers) says about the destination.</summary>
    public static UpstreamOutcome Judge(Exception e) => e switch
    {
        OperationCanceledException => UpstreamOutcome.Failed, // the caller's timer: the upstream was too slow
        IOException or SocketException => UpstreamOutcome.Failed,
        HttpRequestException h => h.HttpRequestError switch
        {
            HttpRequestError.NameResolutionError or HttpRequestError.ConnectionError or HttpRequestError.SecureConnectionError
                or HttpRequestError.HttpProtocolError or HttpRequestError.InvalidResponse or HttpRequestError.ResponseEnded
                or HttpRequestError.VersionNegotiationError or HttpRequestError.ExtendedConnectNotSupported
                or HttpRequestError.ConfigurationLimitExceeded => UpstreamOutcome.Failed,
            // Unknown covers both a write that broke on the wire (an IOException inside) and a request SocketsHttpHandler
            // refused to write (no inner exception, or an argument or format one): only the first is the upstream's.
            HttpRequestError.Unknown when h.InnerException is IOException or SocketException => UpstreamOutcome.Failed,
            _ => UpstreamOutcome.NotJudged,
        },
        _ => UpstreamOutcome.NotJudged,
    };
}
