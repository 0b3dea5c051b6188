using System.Buffers;
using System.Globalization;
using System.Net;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Resilience;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Upstreams;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Forwarding;

/// <summary>
/// Sends one client request to one upstream destination and streams the response back: bodies through
/// pooled buffers in both directions, hop-by-hop headers dropped, 502 when the upstream cannot be reached,
/// 504 when it does not answer in time, and an aborted response (never a clean, truncated one) when the
/// upstream fails after the response started.
/// </summary>
internal sealed partial class HttpForwarder(ILogger<HttpForwarder> logger, TimeProvider _time, Runtime.GatewayRuntime runtime)
{
    private const int ResponseBufferSize = 64 * 1024;

    // The path was encoded by UpstreamPathTemplate after the route decision; Uri must not re-canonicalize it
    // (unescape, resolve dot segments) or the upstream could see a different path than the one routed.
    private static readonly UriCreationOptions UriOptions = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>
    /// Forwards the request; on return the response is complete, or the connection aborted. The caller has begun
    /// the request on the upstream (<see cref="Upstream.TryBeginRequest"/>); it is ended here, on every path.
    /// </summary>
    /// <param name="pathAndQuery">The encoded upstream path plus the client's raw query string.</param>
    /// <param name="policies">The route's policies for this request (issue 23), or null when the route has none.</param>
    public async Task ForwardAsync(HttpContext context, RouteModel route, Destination destination, string pathAndQuery, string requestId, bool fromTrustedProxy, Admission admission = default,
        Policies.PolicyExchange? policies = null)
    {
        var upstream = route.Upstream!;
        // Nothing is learned about the destination until it answers or fails on its own account.
        var outcome = UpstreamOutcome.NotJudged;
        HttpRequestMessage? message = null;
        HttpResponseMessage? response = null;
        byte[]? buffered = null;
        var bufferedLength = 0;
        RequestMirror? mirrorOf = null;
        Destination? mirrorTo = null;
        var attempt = 0;
        var retries = 0;
        var observation = context.Features.Get<Observability.RequestObservation>();
        StreamingRequestContent? body = null;
        System.Diagnostics.Activity? span = null;
        try
        {
            var request = context.Request;
            var upgradeFeature = context.Features.Get<IHttpUpgradeFeature>();
            // A WebSocket over HTTP/2 opens with an extended CONNECT (RFC 8441), which Kestrel offers on every HTTP/2
            // listener; upstream it becomes the HTTP/1.1 Upgrade that every WebSocket server understands. Any other
            // CONNECT (a tunnel to a host:port, or an extended CONNECT for a protocol the route does not allow) is refused
            // here: HttpClient cannot send it as an ordinary request, and the failure must not look like the upstream's.
            string? upgradeProtocol = null;
            var extendedConnect = context.Features.Get<IHttpExtendedConnectFeature>();
            if (extendedConnect is { IsExtendedConnect: true })
            {
                if (extendedConnect.Protocol is not { } asked || !route.AllowsUpgrade(asked.AsSpan()))
                {
                    await ProblemWriter.WriteAsync(context, StatusCodes.Status501NotImplemented, "upgrade-not-allowed", "Protocol not allowed",
                        $"This route does not tunnel the protocol '{extendedConnect.Protocol}'; use one of: {route.UpgradesText}.", requestId).ConfigureAwait(false);
                    return;
                }

                upgradeProtocol = asked;
            }
            else
            {
                extendedConnect = null;
                if (HttpMethods.IsConnect(request.Method))
                {
                    await ProblemWriter.WriteAsync(context, StatusCodes.Status501NotImplemented, "connect-not-supported", "CONNECT not supported",
                        "The gateway does not open CONNECT tunnels; send an ordinary request to a route.", requestId).ConfigureAwait(false);
                    return;
                }

                if (upgradeFeature is { IsUpgradableRequest: true })
                {
                    upgradeProtocol = AllowedUpgrades(request.Headers.Upgrade, route);
                }
            }

            var upgrade = upgradeProtocol is not null;
            HttpMethod method;
            if (extendedConnect is not null)
            {
                method = HttpMethod.Get;
            }
            else if (!TryParseMethod(request.Method, out method))
            {
                await ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "bad-method", "Bad method",
                    $"The request method '{request.Method}' is not a valid HTTP token, or is a standard method in other letter case (methods are case-sensitive); send a standard method such as GET.", requestId).ConfigureAwait(false);
                return;
            }

            var retry = upgrade ? null : route.Retry;
            var hasBody = !upgrade && HasBody(context);
            // A copy for the route's mirror needs the whole body: one of known length up to the mirror's maxBodySize.
            if (!upgrade && route.Mirror is { } mirror && mirror.Sample())
            {
                if (hasBody && (request.ContentLength is not { } copyLength || copyLength > mirror.MaxBodySize))
                {
                    mirror.Skip("body");
                }
                else if (mirror.TryBegin(out mirrorTo))
                {
                    mirrorOf = mirror;
                }
            }

            if (retry is not null)
            {
                upstream.RetryBudget.CountRequest();
            }

            if (retry is not null || mirrorOf is not null)
            {
                // A body is replayable only when it is buffered: one of known length up to maxBodySize (or the mirror's).
                if (hasBody && request.ContentLength is { } length && (length <= retry?.MaxBodySize || mirrorOf is not null))
                {
                    buffered = ArrayPool<byte>.Shared.Rent((int)Math.Max(length, 1));
                    bufferedLength = (int)length;
                    if (await ReadBodyAsync(context, buffered, bufferedLength, requestId).ConfigureAwait(false) is false)
                    {
                        return;
                    }
                }
            }

            // One deadline for the request: every attempt and every back-off fall within it.
            var started = _time.GetTimestamp();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
            timeout.CancelAfter(route.Timeout);
            for (; ; attempt++)
            {
                if (!Uri.TryCreate(destination.BaseAddress + pathAndQuery, in UriOptions, out var uri))
                {
                    await ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "bad-request-target", "Bad request target",
                        "The request path or query cannot be sent upstream; check its encoding.", requestId).ConfigureAwait(false);
                    return;
                }

                message?.Dispose();
                message = new HttpRequestMessage(method, uri)
                {
                    Version = upgrade ? HttpVersion.Version11 : upstream.RequestVersion,
                    VersionPolicy = upgrade ? HttpVersionPolicy.RequestVersionExact : upstream.VersionPolicy,
                };

                body = null;
                if (buffered is not null)
                {
                    message.Content = new ReadOnlyMemoryContent(buffered.AsMemory(0, bufferedLength));
                }
                else if (hasBody)
                {
                    message.Content = body = new StreamingRequestContent(request.Body, request.ContentLength, timeout, route.Timeout);
                }

                // Policies seam 1 (issue 23): the request transforms see the headers the gateway built, before they are sent.
                if ((CopyRequestHeaders(context, message, route, destination, requestId, fromTrustedProxy, upgradeProtocol, admission, upstream.Credential, policies?.Policies.RequestTransform, observation is not null && observation.Trace != default)
                    ?? policies?.OnRequestHeaders(message)) is { } badHeader)
                {
                    await ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "bad-header", "Bad header",
                        $"Header '{badHeader}' cannot be forwarded: its value has a character other than tab, space and visible ASCII (a control character, DEL, or a non-ASCII character), or its name is not a valid HTTP token; send it without one.", requestId).ConfigureAwait(false);
                    return;
                }

                if (mirrorTo is not null)
                {
                    SendCopy(context, route, mirrorOf!, mirrorTo, method, pathAndQuery, buffered, bufferedLength, requestId, fromTrustedProxy, admission, policies);
                    mirrorTo = null;
                }

                if (observation is not null)
                {
                    observation.Upstream = destination.BaseAddress;
                    if (observation.Trace != default)
                    {
                        span = StartAttemptSpan(message, destination, upstream.Name, pathAndQuery, span, observation.Trace, observation.Snapshot);
                    }
                }

                // The first attempt is sent microseconds after the deadline began: its whole timeout is left (one clock read fewer).
                var left = attempt == 0 ? route.Timeout : route.Timeout - _time.GetElapsedTime(started);
                if (route.DeadlineHeader is { } deadlineHeader)
                {
                    message.Headers.TryAddWithoutValidation(deadlineHeader, ((long)Math.Max(0, left.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture));
                }

                if (retry is null)
                {
                    // Without retries the timeout runs from each send (only the connect-failure retry sends twice).
                    timeout.CancelAfter(route.Timeout);
                }

                CancellationTokenSource? perTry = null;
                if (retry?.PerTryTimeout is { } perTryTimeout && perTryTimeout < left)
                {
                    perTry = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                    perTry.CancelAfter(perTryTimeout);
                }

                var timed = observation?.Metrics;
                // An attempt is timed from its start: for the first one, the deadline's start, read just before it was built.
                var sent = timed is null ? 0 : attempt == 0 ? started : _time.GetTimestamp();
                try
                {
                    response = await upstream.Invoker.SendAsync(message, perTry?.Token ?? timeout.Token).ConfigureAwait(false);
                    if (sent != 0)
                    {
                        timed!.Upstream(upstream.Name, _time.GetElapsedTime(sent).Ticks, (int)response.StatusCode, null);
                    }
                }
                catch (Exception e) when (sent != 0 && RecordFailedAttempt(timed!, upstream.Name, sent, e, context.RequestAborted))
                {
                    throw; // not reached: the filter records the attempt and declines
                }
                catch (HttpRequestException e) when (retry is null && attempt == 0 && body is null && e.HttpRequestError == HttpRequestError.ConnectionError
                    && !context.RequestAborted.IsCancellationRequested && TrySwitchDestination(upstream, ref destination))
                {
                    // Nothing reached the upstream (no connection, no body to replay): the request is safe to try
                    // once on another destination, whatever its method. The failed one is charged to passive health.
                    LogRetried(logger, route.Id, e.Message);
                    continue;
                }
                catch (Exception e) when (e is HttpRequestException or OperationCanceledException or IOException)
                {
                    var perTryExpired = perTry?.IsCancellationRequested == true && !timeout.IsCancellationRequested;
                    if (retry is not null && !context.RequestAborted.IsCancellationRequested && body?.ClientError is null
                        && RetryReason(retry, e, perTryExpired) is { } reason)
                    {
                        // Nothing reached the upstream when no connection was made and the body was not started.
                        var reached = !(reason == RetryReasons.ConnectFailure && body?.Started != true);
                        var next = await PrepareRetryAsync(context, route, retry, destination, attempt, reason, reached, body is null || !body.Started, perTryExpired ? UpstreamOutcome.Failed : UpstreamFaults.Judge(e), null, started, retries > 0, timeout.Token).ConfigureAwait(false);
                        if (next is not null)
                        {
                            destination = next;
                            retries++;
                            continue;
                        }
                    }

                    if (perTryExpired)
                    {
                        // The per-try timeout fired and no retry followed: the client is told it timed out.
                        e = new OperationCanceledException();
                    }

                    outcome = await HandleSendFailureAsync(context, route, destination, body, e, requestId, attempt + 1).ConfigureAwait(false);
                    return;
                }
                finally
                {
                    perTry?.Dispose();
                }

                var status = (int)response.StatusCode;
                if (retry is not null && retry.RetriesStatus(status) && !context.RequestAborted.IsCancellationRequested)
                {
                    var statusOutcome = status >= 500 ? UpstreamOutcome.Failed : UpstreamOutcome.Succeeded;
                    var next = await PrepareRetryAsync(context, route, retry, destination, attempt, RetryReasons.Status(status), reached: true, replayable: hasBody == (buffered is not null), statusOutcome, response, started, retries > 0, timeout.Token).ConfigureAwait(false);
                    if (next is not null)
                    {
                        response.Dispose();
                        response = null;
                        destination = next;
                        retries++;
                        continue;
                    }
                }

                break;
            }

            // Headers are in: the timeout covered the wait for them. The body streams for as long as both sides keep going.
            timeout.CancelAfter(Timeout.InfiniteTimeSpan);
            outcome = (int)response.StatusCode >= 500 ? UpstreamOutcome.Failed : UpstreamOutcome.Succeeded;

            if (response.StatusCode == HttpStatusCode.SwitchingProtocols)
            {
                if (upgrade)
                {
                    await TunnelAsync(context, upgradeFeature, extendedConnect, response, IsWebSocket(upgradeProtocol!) ? runtime.ListenersClosing : CancellationToken.None, timeout.Token).ConfigureAwait(false);
                    return;
                }

                // A switch nobody asked for (the request carried no Upgrade): what follows is not HTTP, and a 101
                // passed on would leave the client's connection in a state it did not negotiate.
                outcome = UpstreamOutcome.Failed;
                LogUnrequestedUpgrade(logger, route.Id, destination.ToString());
                await ProblemWriter.WriteAsync(context, StatusCodes.Status502BadGateway, "bad-upstream-response", "Bad upstream response",
                    $"Service '{upstream.Name}' switched protocols without being asked to.", requestId).ConfigureAwait(false);
                return;
            }

            CopyResponseHeaders(context, response, requestId);
            if (attempt > 0)
            {
                context.Response.Headers[AttemptsHeader] = AttemptsText(attempt + 1);
            }

            // Policies seam 2 (issue 23): response transforms and the cache see the service's status and headers.
            policies?.OnResponseHeaders();

            // RFC 9111 §4.4: a change the service made drops the cached answers it outdated, before the client has the
            // answer (nothing is sent until the body is copied), so that what it asks next is not answered from before.
            if (route.CacheInvalidation is { } invalidation && Policies.Caching.CacheInvalidation.Applies(request.Method, (int)response.StatusCode))
            {
                await invalidation.InvalidateAsync(context, fromTrustedProxy).ConfigureAwait(false);
            }

            // The gateway's limits are the ones it enforces: its fields replace any the service sent.
            LimitHeaders.Write(context.Response, admission.Limits);
            var copied = await CopyResponseBodyAsync(context, response, context.RequestAborted, flushWhenIdle: policies?.Policies.Compress is not null).ConfigureAwait(false);
            if (copied == CopyOutcome.UpstreamFailed)
            {
                outcome = UpstreamOutcome.Failed;
                LogResponseBodyFailed(logger, route.Id, destination.ToString());
                context.Abort();
                return;
            }

            if (copied == CopyOutcome.ClientFailed)
            {
                context.Abort();
                return;
            }

            CopyTrailers(context, response);
            if (observation is not null && Problems.GrpcStatus.IsGrpcResponse(context.Response))
            {
                observation.Status = Problems.GrpcStatus.RecordedStatus(response) ?? observation.Status;
            }
        }
        finally
        {
            if (mirrorTo is not null)
            {
                mirrorOf!.Release(mirrorTo); // the request ended before its copy was made
            }

            if (span is not null)
            {
                Observability.GatewayTracing.StopClient(span, response is null ? 0 : (int)response.StatusCode, response is null ? "no_response" : null);
            }

            if (observation is not null)
            {
                observation.BytesIn = body?.BytesRead ?? (buffered is not null ? bufferedLength : 0);
            }

            response?.Dispose();
            message?.Dispose();
            upstream.EndRequest(destination, outcome);
            upstream.RetryBudget.Release(held: retries > 0);
            upstream.Gate?.Exit();
            if (buffered is not null)
            {
                ArrayPool<byte>.Shared.Return(buffered);
            }
        }
    }

    // An exception filter, so that the attempt is recorded once whichever of the catch blocks below then takes it.
    private bool RecordFailedAttempt(Observability.RequestMetrics metrics, string service, long sent, Exception e, CancellationToken clientAborted)
    {
        var error = clientAborted.IsCancellationRequested ? "client_aborted"
            : e is OperationCanceledException ? "timeout"
            : e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } ? "connection_error"
            : "response_error";
        metrics.Upstream(service, _time.GetElapsedTime(sent).Ticks, 0, error);
        return false;
    }

    /// <summary>
    /// Ends the previous attempt's span, if any, and starts this attempt's; the upstream gets this span's trace context in
    /// place of whatever <c>traceparent</c> the client sent (which the server span already continued, or refused to).
    /// </summary>
    private static System.Diagnostics.Activity? StartAttemptSpan(HttpRequestMessage message, Destination destination, string service, string pathAndQuery, System.Diagnostics.Activity? previous,
        System.Diagnostics.ActivityContext server, Runtime.GatewaySnapshot? snapshot)
    {
        if (previous is not null)
        {
            Observability.GatewayTracing.StopClient(previous, 0, "connection_error");
        }

        // The client's traceparent and tracestate were left out when its headers were copied (CopyRequestHeaders).
        // A route that forwards the credential sends the key's query parameter on: the span's url.full hides it under the
        // name it has here (apiKeys.queryParameter), not only under the usual secret names.
        var span = Observability.GatewayTracing.StartClient(message.Method.Method, destination, service, pathAndQuery,
            snapshot is null ? null : snapshot.Access?.KeyQueryParameter ?? snapshot.Config.Gateway.ApiKeys.QueryParameter);
        // Without a client span (the server span was not sampled), the upstream gets the server's context, with its
        // not-sampled flag.
        var context = span?.Context ?? server;
        message.Headers.TryAddWithoutValidation("traceparent", Observability.GatewayTracing.Traceparent(context));
        if (context.TraceState is { Length: > 0 } state)
        {
            message.Headers.TryAddWithoutValidation("tracestate", state);
        }

        return span;
    }

    private static bool TryParseMethod(string method, out HttpMethod parsed)
    {
        // Kestrel checks that a method is a token on both protocols; this guards the step that relies on it, since
        // HttpMethod throws on anything else.
        if (!HeaderRules.IsToken(method))
        {
            parsed = HttpMethod.Get;
            return false;
        }

        // Methods are case-sensitive (RFC 9110 §9.1), but SocketsHttpHandler sends "gET" as GET (it normalizes every
        // spelling of a standard method), so such a request could not reach the upstream as the client sent it: refused.
        parsed = HttpMethod.Parse(method);
        return string.Equals(parsed.Method, method, StringComparison.Ordinal);
    }

    /// <summary>
    /// Moves a begun request from <paramref name="destination"/> (which failed to connect) to another available
    /// destination; false, leaving everything as it was, when there is none.
    /// </summary>
    private static bool TrySwitchDestination(Upstream upstream, ref Destination destination)
    {
        var destinations = upstream.Destinations;
        for (var i = 0; i < destinations.Length; i++)
        {
            var next = upstream.Pick();
            if (next is null)
            {
                return false;
            }

            if (!ReferenceEquals(next, destination) && upstream.TryBeginRequest(next))
            {
                upstream.EndRequest(destination, failed: true);
                destination = next;
                return true;
            }
        }

        return false;
    }

    /// <summary>Answers a request whose upstream call failed before response headers; returns what it says about the destination.</summary>
    private async Task<UpstreamOutcome> HandleSendFailureAsync(HttpContext context, RouteModel route, Destination destination, StreamingRequestContent? body, Exception e, string requestId, int attempts = 1)
    {
        KeyValuePair<string, string>[]? extra = attempts > 1 ? [new(AttemptsHeader, AttemptsText(attempts))] : null;
        if (context.RequestAborted.IsCancellationRequested)
        {
            return UpstreamOutcome.NotJudged; // the client left; the upstream call was cancelled with it.
        }

        if (body?.ClientError is { } clientError)
        {
            if (clientError is BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge })
            {
                await ProblemWriter.WriteBodyTooLargeAsync(context, requestId).ConfigureAwait(false);
            }
            else
            {
                await ProblemWriter.WriteAsync(context, clientError is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status400BadRequest,
                    "bad-body", "Bad request body", "The request body could not be read; check its framing (Content-Length or chunked encoding).", requestId).ConfigureAwait(false);
            }

            return UpstreamOutcome.NotJudged;
        }

        if (e is OperationCanceledException)
        {
            LogUpstreamTimeout(logger, route.Id, destination.ToString(), route.Timeout);
            await ProblemWriter.WriteAsync(context, StatusCodes.Status504GatewayTimeout, "upstream-timeout", "Upstream timeout",
                $"Service '{route.Upstream!.Name}' did not answer within {route.Timeout.TotalSeconds:0.###}s.", requestId, extra).ConfigureAwait(false);
            return UpstreamOutcome.Failed;
        }

        var outcome = UpstreamFaults.Judge(e);
        if (outcome == UpstreamOutcome.NotJudged)
        {
            // The request could not be sent for a reason of its own (every part of it was checked first, so this is a
            // gap in those checks): answered as a gateway failure, and not charged to the destination.
            LogRequestNotSent(logger, route.Id, destination.ToString(), e.Message);
            await ProblemWriter.WriteAsync(context, StatusCodes.Status502BadGateway, "upstream-request-failed", "Upstream request failed",
                $"The request could not be sent to service '{route.Upstream!.Name}'; check it for unusual characters, or report it with the request id.", requestId, extra).ConfigureAwait(false);
            return outcome;
        }

        LogUpstreamUnreachable(logger, route.Id, destination.ToString(), e.Message);
        await ProblemWriter.WriteAsync(context, StatusCodes.Status502BadGateway, "upstream-unreachable", "Upstream unreachable",
            $"Service '{route.Upstream!.Name}' could not be reached.", requestId, extra).ConfigureAwait(false);
        return outcome;
    }

    private static bool HasBody(HttpContext context)
    {
        var detection = context.Features.Get<IHttpRequestBodyDetectionFeature>();
        return detection?.CanHaveBody ?? (context.Request.ContentLength > 0);
    }

    private static void CopyResponseHeaders(HttpContext context, HttpResponseMessage response, string requestId)
    {
        var target = context.Response;
        target.StatusCode = (int)response.StatusCode;
        var headers = target.Headers;
        foreach (var header in response.Headers.NonValidated)
        {
            if (!HeaderRules.NotForwardedResponse.Contains(header.Key))
            {
                headers[header.Key] = ToStringValues(header.Value);
            }
        }

        foreach (var header in response.Content.Headers.NonValidated)
        {
            headers[header.Key] = ToStringValues(header.Value);
        }

        // The gateway's id wins over one the upstream made up: it is the one in the gateway's logs and problems.
        headers["X-Request-Id"] = requestId;
    }

    private static Microsoft.Extensions.Primitives.StringValues ToStringValues(System.Net.Http.Headers.HeaderStringValues values)
    {
        if (values.Count == 1)
        {
            return values.ToString();
        }

        var array = new string[values.Count];
        var i = 0;
        foreach (var v in values)
        {
            array[i++] = v;
        }

        return array;
    }

    private static void CopyTrailers(HttpContext context, HttpResponseMessage response)
    {
        if (response.TrailingHeaders.NonValidated.Count == 0 || !context.Response.SupportsTrailers())
        {
            return;
        }

        foreach (var trailer in response.TrailingHeaders.NonValidated)
        {
            context.Response.AppendTrailer(trailer.Key, ToStringValues(trailer.Value));
        }
    }

    private enum CopyOutcome
    {
        Completed,
        UpstreamFailed,
        ClientFailed,
    }

    // flushWhenIdle: the body is written through something that holds bytes back until flushed (a compressor), so before
    // waiting for the service, what was written is flushed: a streamed answer stays streamed. Kestrel's own body sends
    // each write, and a route without such a policy never flushes.
    private static async Task<CopyOutcome> CopyResponseBodyAsync(HttpContext context, HttpResponseMessage response, CancellationToken aborted, bool flushWhenIdle)
    {
        Stream source;
        try
        {
            source = await response.Content.ReadAsStreamAsync(aborted).ConfigureAwait(false);
        }
        catch (Exception) when (!aborted.IsCancellationRequested)
        {
            return CopyOutcome.UpstreamFailed;
        }
        catch (Exception)
        {
            return CopyOutcome.ClientFailed;
        }

        var target = context.Response.Body;
        var observation = context.Features.Get<Observability.RequestObservation>();
        var buffer = ArrayPool<byte>.Shared.Rent(ResponseBufferSize);
        try
        {
            while (true)
            {
                int read;
                try
                {
                    var pending = source.ReadAsync(buffer.AsMemory(), aborted);
                    if (!pending.IsCompleted)
                    {
                        if (!context.Response.HasStarted)
                        {
                            // The body is not ready yet (a slow or streaming upstream): send the headers now.
                            await context.Response.StartAsync(aborted).ConfigureAwait(false);
                        }
                        else if (flushWhenIdle && !await TryFlushAsync(target, aborted).ConfigureAwait(false))
                        {
                            // The read still pending fails when the source is disposed (below) and the request aborted.
                            _ = pending.AsTask().ContinueWith(static t => _ = t.Exception, CancellationToken.None,
                                TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                            return CopyOutcome.ClientFailed;
                        }
                    }

                    read = await pending.ConfigureAwait(false);
                }
                catch (Exception) when (!aborted.IsCancellationRequested)
                {
                    return CopyOutcome.UpstreamFailed;
                }
                catch (Exception)
                {
                    return CopyOutcome.ClientFailed;
                }

                if (read == 0)
                {
                    return CopyOutcome.Completed;
                }

                if (observation is not null)
                {
                    observation.BytesOut += read;
                }

                try
                {
                    await target.WriteAsync(buffer.AsMemory(0, read), aborted).ConfigureAwait(false);
                }
                catch (Exception)
                {
                    return CopyOutcome.ClientFailed;
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
            await source.DisposeAsync().ConfigureAwait(false);
        }
    }

    // A flush that fails is the client's failure (gone, or too slow), never the service's.
    private static async ValueTask<bool> TryFlushAsync(Stream target, CancellationToken aborted)
    {
        try
        {
            await target.FlushAsync(aborted).ConfigureAwait(false);
            return true;
        }
        catch (Exception)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: upstream {Destination} unreachable: {Reason}")]
    private static partial void LogUpstreamUnreachable(ILogger logger, string route, string destination, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: upstream {Destination} did not answer within {Timeout}")]
    private static partial void LogUpstreamTimeout(ILogger logger, string route, string destination, TimeSpan timeout);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: upstream {Destination} failed while sending the response body; the client response was aborted")]
    private static partial void LogResponseBodyFailed(ILogger logger, string route, string destination);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: upstream {Destination} answered 101 to a request that did not ask to upgrade")]
    private static partial void LogUnrequestedUpgrade(ILogger logger, string route, string destination);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Route {Route}: the request could not be sent to upstream {Destination}, which is not charged for it: {Reason}")]
    private static partial void LogRequestNotSent(ILogger logger, string route, string destination, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Route {Route}: connecting to the upstream failed ({Reason}); trying another destination")]
    private static partial void LogRetried(ILogger logger, string route, string reason);
}
