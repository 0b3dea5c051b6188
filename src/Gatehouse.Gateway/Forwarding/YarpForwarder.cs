using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>
/// The forwarder built on YARP's <see cref="IHttpForwarder"/> (direct forwarding), for issue 25's side-by-side
/// measurement against <see cref="HttpForwarder"/>. Gatehouse keeps routing, access, load balancing and health; YARP
/// streams the request and the response and tunnels WebSockets. Gatehouse's own invariants are kept by its transformer:
/// the request target built from checked bytes, the header rules of issue 16, the gateway's own headers, the limits'
/// headers, and problem+json answers with passive health charged only with the upstream's failures.
/// </summary>
internal sealed partial class YarpForwarder(IHttpForwarder yarp, ILogger<YarpForwarder> logger) : IRequestForwarder
{
    public async Task ForwardAsync(HttpContext context, RouteModel route, Destination destination, string pathAndQuery, string requestId, bool fromTrustedProxy, Admission admission = default)
    {
        var upstream = route.Upstream!;
        var outcome = UpstreamOutcome.NotJudged;
        try
        {
            var request = context.Request;
            if (context.Features.Get<IHttpExtendedConnectFeature>() is { IsExtendedConnect: true } connect)
            {
                // YARP tunnels only WebSockets over extended CONNECT.
                if (connect.Protocol is not { } asked || !route.AllowsUpgrade(asked.AsSpan()) || !string.Equals(asked, "websocket", StringComparison.OrdinalIgnoreCase))
                {
                    await ProblemWriter.WriteAsync(context, StatusCodes.Status501NotImplemented, "upgrade-not-allowed", "Protocol not allowed",
                        $"This route does not tunnel the protocol '{connect.Protocol}'; use one of: {route.UpgradesText}.", requestId).ConfigureAwait(false);
                    return;
                }
            }
            else if (HttpMethods.IsConnect(request.Method))
            {
                await ProblemWriter.WriteAsync(context, StatusCodes.Status501NotImplemented, "connect-not-supported", "CONNECT not supported",
                    "The gateway does not open CONNECT tunnels; send an ordinary request to a route.", requestId).ConfigureAwait(false);
                return;
            }
            else if (context.Features.Get<IHttpUpgradeFeature>() is { IsUpgradableRequest: true } upgradeFeature)
            {
                if (HttpForwarder.AllowedUpgrades(request.Headers.Upgrade, route) is { } allowed && string.Equals(allowed, "websocket", StringComparison.OrdinalIgnoreCase))
                {
                    // YARP recognises a WebSocket upgrade only when Upgrade is that one token.
                    request.Headers.Upgrade = allowed;
                }
                else
                {
                    // YARP would tunnel a WebSocket or SPDY upgrade on its own; anything the route does not allow goes as an
                    // ordinary request (the transformer never copies Upgrade). YARP tunnels no protocol but those two.
                    context.Features.Set<IHttpUpgradeFeature>(new NotUpgradable(upgradeFeature));
                }
            }

            if (!HttpForwarder.TryParseMethod(request.Method, out _))
            {
                await ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "bad-method", "Bad method",
                    $"The request method '{request.Method}' is not a valid HTTP token, or is a standard method in other letter case (methods are case-sensitive); send a standard method such as GET.", requestId).ConfigureAwait(false);
                return;
            }

            var hasBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;
            for (var attempt = 0; ; attempt++)
            {
                var transformer = new Transformer(route, destination, pathAndQuery, requestId, fromTrustedProxy, admission);
                var config = new ForwarderRequestConfig { ActivityTimeout = route.Timeout, Version = upstream.RequestVersion, VersionPolicy = upstream.VersionPolicy };
                var error = await yarp.SendAsync(context, destination.BaseAddress, upstream.Invoker, config, transformer).ConfigureAwait(false);
                if (transformer.Refusal is { } refusal)
                {
                    context.Response.Clear();
                    await ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, refusal.Type, refusal.Title, refusal.Detail, requestId).ConfigureAwait(false);
                    return;
                }

                var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
                if (error == ForwarderError.Request && attempt == 0 && !hasBody && exception is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }
                    && !context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted && HttpForwarder.TrySwitchDestination(upstream, ref destination))
                {
                    // Nothing reached the upstream: tried once more on another destination, as HttpForwarder does.
                    context.Response.Clear();
                    context.Features.Set<IForwarderErrorFeature>(null);
                    continue;
                }

                outcome = await AnswerAsync(context, route, destination, error, exception, requestId).ConfigureAwait(false);
                return;
            }
        }
        finally
        {
            upstream.EndRequest(destination, outcome);
        }
    }

    /// <summary>Turns YARP's outcome into Gatehouse's answer and what it says about the destination.</summary>
    private async Task<UpstreamOutcome> AnswerAsync(HttpContext context, RouteModel route, Destination destination, ForwarderError error, Exception? exception, string requestId)
    {
        var response = context.Response;
        switch (error)
        {
            case ForwarderError.None:
                return response.StatusCode >= 500 ? UpstreamOutcome.Failed : UpstreamOutcome.Succeeded;
            case ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                or ForwarderError.ResponseBodyClient or ForwarderError.UpgradeRequestCanceled or ForwarderError.UpgradeResponseCanceled
                or ForwarderError.UpgradeRequestClient or ForwarderError.UpgradeResponseClient:
                return UpstreamOutcome.NotJudged; // the client left or broke off
            case ForwarderError.RequestBodyClient:
                if (!response.HasStarted)
                {
                    response.Clear();
                    var bad = Inner<BadHttpRequestException>(exception);
                    if (bad is { StatusCode: StatusCodes.Status413PayloadTooLarge })
                    {
                        await ProblemWriter.WriteBodyTooLargeAsync(context, requestId).ConfigureAwait(false);
                    }
                    else
                    {
                        await ProblemWriter.WriteAsync(context, bad?.StatusCode ?? StatusCodes.Status400BadRequest,
                            "bad-body", "Bad request body", "The request body could not be read; check its framing (Content-Length or chunked encoding).", requestId).ConfigureAwait(false);
                    }
                }

                return UpstreamOutcome.NotJudged;
            case ForwarderError.RequestTimedOut:
                LogUpstreamTimeout(logger, route.Id, destination.ToString(), route.Timeout);
                if (!response.HasStarted)
                {
                    response.Clear();
                    await ProblemWriter.WriteAsync(context, StatusCodes.Status504GatewayTimeout, "upstream-timeout", "Upstream timeout",
                        $"Service '{route.Upstream!.Name}' did not answer within {route.Timeout.TotalSeconds:0.###}s.", requestId).ConfigureAwait(false);
                }

                return UpstreamOutcome.Failed;
            case ForwarderError.ResponseBodyDestination or ForwarderError.UpgradeResponseDestination or ForwarderError.UpgradeRequestDestination:
                // YARP aborted the client's response: never a clean, truncated one.
                return UpstreamOutcome.Failed;
            case ForwarderError.ResponseHeaders when exception is HttpRequestException { HttpRequestError: HttpRequestError.InvalidResponse }:
                LogUpstreamUnreachable(logger, route.Id, destination.ToString(), error.ToString(), exception.Message);
                response.Clear();
                await ProblemWriter.WriteAsync(context, StatusCodes.Status502BadGateway, "bad-upstream-response", "Bad upstream response",
                    $"Service '{route.Upstream!.Name}' switched protocols without being asked to.", requestId).ConfigureAwait(false);
                return UpstreamOutcome.Failed;
            default:
                var outcome = exception is null ? UpstreamOutcome.Failed : UpstreamFaults.Judge(exception);
                if (error == ForwarderError.RequestCreation)
                {
                    outcome = UpstreamOutcome.NotJudged;
                }

                LogUpstreamUnreachable(logger, route.Id, destination.ToString(), error.ToString(), exception?.Message ?? "");
                if (!response.HasStarted)
                {
                    response.Clear();
                    await ProblemWriter.WriteAsync(context, StatusCodes.Status502BadGateway, "upstream-unreachable", "Upstream unreachable",
                        $"Service '{route.Upstream!.Name}' could not be reached.", requestId).ConfigureAwait(false);
                }
                else
                {
                    context.Abort();
                }

                return outcome;
        }
    }

    private static T? Inner<T>(Exception? e)
        where T : Exception
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is T found)
            {
                return found;
            }
        }

        return null;
    }

    /// <summary>What the transformer refused, answered as 400 problem+json.</summary>
    private sealed record Refusal(string Type, string Title, string Detail);

    /// <summary>Gatehouse's request and response rules, applied where YARP builds the upstream request and copies the response.</summary>
    private sealed class Transformer(RouteModel route, Destination destination, string pathAndQuery, string requestId, bool fromTrustedProxy, Admission admission) : HttpTransformer
    {
        public Refusal? Refusal { get; private set; }

        public override ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
        {
            if (!Uri.TryCreate(destinationPrefix + pathAndQuery, in HttpForwarder.UriOptions, out var uri))
            {
                Refuse(httpContext, new Refusal("bad-request-target", "Bad request target", "The request path or query cannot be sent upstream; check its encoding."));
                return ValueTask.CompletedTask;
            }

            proxyRequest.RequestUri = uri;

            // Gatehouse's header rules leave Content-Length to whoever frames the body; YARP's content has no length of its own.
            if (httpContext.Request.ContentLength is { } length && proxyRequest.Content is { } content)
            {
                content.Headers.ContentLength = length;
            }

            // YARP adds Connection/Upgrade (and an HTTP/2 client's Sec-WebSocket-Key) for the WebSocket upgrades it tunnels.
            if (HttpForwarder.CopyRequestHeaders(httpContext, proxyRequest, route, destination, requestId, fromTrustedProxy, upgradeProtocol: null, admission, route.Upstream!.Credential) is { } badHeader)
            {
                Refuse(httpContext, new Refusal("bad-header", "Bad header",
                    $"Header '{badHeader}' cannot be forwarded: its value has a character other than tab, space and visible ASCII (a control character, DEL, or a non-ASCII character), or its name is not a valid HTTP token; send it without one."));
            }

            return ValueTask.CompletedTask;
        }

        public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
        {
            if (proxyResponse is null)
            {
                return ValueTask.FromResult(false);
            }

            // A switch nobody asked for: YARP would tunnel it, leaving the client's connection in a state it did not
            // negotiate. Throwing here makes YARP answer 502 (ResponseHeaders) without passing the 101 on.
            if (proxyResponse.StatusCode == System.Net.HttpStatusCode.SwitchingProtocols
                && httpContext.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true }
                && httpContext.Features.Get<IHttpExtendedConnectFeature>() is not { IsExtendedConnect: true })
            {
                throw new HttpRequestException(HttpRequestError.InvalidResponse, "the upstream switched protocols without being asked to");
            }

            HttpForwarder.CopyResponseHeaders(httpContext, proxyResponse, requestId);
            LimitHeaders.Write(httpContext.Response, admission.Limits);
            return ValueTask.FromResult(true);
        }

        // Setting a status before the send tells YARP not to forward; the forwarder writes the problem.
        private void Refuse(HttpContext context, Refusal refusal)
        {
            Refusal = refusal;
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
        }
    }

    /// <summary>Hides an upgrade the route does not allow from YARP, which would otherwise tunnel WebSocket and SPDY on its own.</summary>
    private sealed class NotUpgradable(IHttpUpgradeFeature inner) : IHttpUpgradeFeature
    {
        public bool IsUpgradableRequest => false;

        public Task<Stream> UpgradeAsync() => inner.UpgradeAsync();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: upstream {Destination} failed ({Error}): {Reason}")]
    private static partial void LogUpstreamUnreachable(ILogger logger, string route, string destination, string error, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: upstream {Destination} did not answer within {Timeout}")]
    private static partial void LogUpstreamTimeout(ILogger logger, string route, string destination, TimeSpan timeout);
}
