using System.Runtime.CompilerServices;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Forwarding;
using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// The terminal request handler of the data plane: request id, path safety, route match, the access steps where the
/// route has them, destination pick, forward. Reads the live snapshot once per request.
/// </summary>
internal sealed partial class GatewayRequestHandler
{
    private readonly GatewayRuntime runtime;
    private readonly HttpForwarder forwarder;
    private readonly Observability.GatewayTelemetry _telemetry;
    private readonly Ai.AiHandler _ai;

    public GatewayRequestHandler(GatewayRuntime runtime, HttpForwarder forwarder, Observability.GatewayTelemetry telemetry, Ai.AiHandler ai)
    {
        _ai = ai;
        this.runtime = runtime;
        this.forwarder = forwarder;
        _telemetry = telemetry;
    }

    /// <summary>The request delegate: straight to the handler when nothing records requests; observed by the telemetry otherwise.</summary>
    public Task HandleAsync(HttpContext context) => HandleAsync(context, null);

    /// <summary>
    /// Runs a request made inside the gateway (an MCP tool call) on the route <paramref name="pin"/> names and no other:
    /// the path only fills that route's parameters. Everything after the match is as for a request from outside.
    /// </summary>
    public Task HandlePinnedAsync(HttpContext context, RoutePin pin)
    {
        // Also a feature, for the rare second match after a reload retired the route's upstream (PickAndForwardAsync).
        context.Features.Set(pin);
        return HandleAsync(context, pin);
    }

    // Inlined into the request delegate, so a request from outside pays nothing for the pinned entry point beside it.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Task HandleAsync(HttpContext context, RoutePin? pin)
    {
        if (!_telemetry.Active)
        {
            return HandleCoreAsync(context, null, pin);
        }

        var observation = _telemetry.Begin(context);
        try
        {
            return observation.Handling = HandleCoreAsync(context, observation, pin);
        }
        catch (Exception e)
        {
            observation.Error = e.GetType().FullName ?? "_OTHER";
            throw;
        }
    }

    /// <param name="observation">The request's observation when something records requests (also a request feature, for the steps further in).</param>
    /// <param name="pin">The route an in-process caller chose; null for every request from outside.</param>
    private Task HandleCoreAsync(HttpContext context, Observability.RequestObservation? observation, RoutePin? pin)
    {
        var snapshot = runtime.Current;
        var request = context.Request;
        var requestId = request.Headers["X-Request-Id"] is { Count: 1 } incoming && HeaderRules.IsValidRequestId(incoming.ToString())
            ? incoming.ToString()
            : RequestIds.New();
        if (observation is not null)
        {
            observation.RequestId = requestId;
        }

        var path = request.Path.Value ?? "/";
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? path;
        if (!PathSafety.IsUnambiguous(rawTarget, path))
        {
            return ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "ambiguous-path", "Ambiguous path",
                "The path contains an encoded '/' or '\\', a backslash, an encoded NUL, or raw non-ASCII characters beside percent-encoding, which servers behind a gateway read differently; send the path without them (percent-encode non-ASCII as UTF-8).", requestId);
        }

        if (snapshot.HealthPath is { } healthPath && string.Equals(path, healthPath, StringComparison.Ordinal))
        {
            return HealthHost.ReadyAsync(context, runtime);
        }

        if (runtime.HttpsRedirects && context.Features.Get<HttpsRedirect>() is { } redirect && HttpsRedirect.Applies(path))
        {
            return redirect.AnswerAsync(context, requestId);
        }

        var captures = default(RouteCaptures);
        if (Match(context, snapshot, path, requestId, pin, out var route, ref captures) is { } problem)
        {
            return problem;
        }

        if (observation is not null)
        {
            observation.Route = route;
        }

        // Kestrel's own limit comes from the config the process started with; the route's, or else the live revision's,
        // applies (nothing above reads a body).
        var bodyLimit = route!.MaxRequestBodySize ?? snapshot.Config.Gateway.MaxRequestBodySize;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } bodyLimitFeature)
        {
            bodyLimitFeature.MaxRequestBodySize = bodyLimit;
        }

        // A declared length over the limit is refused before any upstream work (the chunked case is caught while streaming).
        if (request.ContentLength > bodyLimit)
        {
            return RefuseOversizedBodyAsync(context, requestId);
        }

        if (route.Policies is not null)
        {
            return RunPoliciesAsync(context, snapshot, route, captures, path, requestId);
        }

        return route.Access is null
            ? PickAndForwardAsync(context, snapshot, route, captures, path, requestId, default)
            : AdmitAndForwardAsync(context, snapshot, route, captures, path, requestId);
    }

    /// <summary>Finds the route; returns the 404 or 405 to send when there is none.</summary>
    private static Task? Match(HttpContext context, GatewaySnapshot snapshot, string path, string requestId, RoutePin? pin, out RouteModel? route, ref RouteCaptures captures)
    {
        var request = context.Request;
        if (pin is not null)
        {
            // Gone when a revision since tools/list removed or changed the route: the caller lists its tools again.
            return snapshot.Routes.MatchPinned(pin, path, out route, ref captures) == MatchOutcome.Matched
                ? null
                : ProblemWriter.WriteAsync(context, StatusCodes.Status404NotFound, "no-route", "No route",
                    $"No route serves operation '{pin.OperationId}' at {pin.Method} {pin.Template} any more; list the tools again.", requestId);
        }

        var allowed = default(AllowedMethods);
        var outcome = snapshot.Routes.Match(request.Method, PathSafety.HostWithoutPort(request.Host.Value), path, out route, ref captures, ref allowed, request);
        if (outcome == MatchOutcome.NoRoute)
        {
            // A preflight names the headers of its request without their values, so a route with header conditions takes
            // it only as a preflight (RouteConditions).
            if (HttpMethods.IsOptions(request.Method) && Preflight(context, snapshot, path, requestId) is { } conditioned)
            {
                return conditioned;
            }

            return ProblemWriter.WriteAsync(context, StatusCodes.Status404NotFound, "no-route", "No route",
                $"No route serves {request.Method} {path}; check the path, or add a route for it.", requestId);
        }

        if (outcome == MatchOutcome.MethodNotAllowed)
        {
            // A CORS preflight for a route that does not serve OPTIONS itself (issue 23): only on this 405 path.
            if (HttpMethods.IsOptions(request.Method) && Preflight(context, snapshot, path, requestId) is { } preflight)
            {
                return preflight;
            }

            var allow = allowed.Header;
            return ProblemWriter.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "method-not-allowed", "Method not allowed",
                $"{path} does not accept {request.Method}; use one of {allow}.", requestId, [new("Allow", allow)]);
        }

        return null;
    }

    private Task PickAndForwardAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures, string path, string requestId, Admission admission,
        Policies.PolicyExchange? exchange = null, bool faultsDone = false, bool gateHeld = false)
    {
        // A composition route runs its steps instead of the forwarder, after the same access steps.
        if (route.Composition is { } composition)
        {
            return new Composition.CompositionRun(composition, context, snapshot, runtime, captures, path, requestId, admission).ExecuteAsync();
        }

        if (!faultsDone && route.Faults is { } faults && faults.Applies(context))
        {
            return InjectFaultsAsync(context, snapshot, route, captures, path, requestId, admission, faults);
        }

        // A route bound to an ai service serves the OpenAI-compatible API (Ai/AiHandler.cs), after the same access steps.
        if (route.Ai is { } ai)
        {
            return _ai.HandleAsync(context, ai, route.OperationId, requestId, admission);
        }

        while (true)
        {
            var upstream = route.Upstream!;
            if (!gateHeld && upstream.Gate is { } gate)
            {
                if (!gate.TryEnter())
                {
                    return WaitAtGateAsync(context, snapshot, route, captures, path, requestId, admission, gate);
                }

                gateHeld = true;
            }

            var destination = upstream.Pick(LoadBalancing.RequestHashKey.For(upstream, context, snapshot, path, admission));
            if (destination is null)
            {
                upstream.Gate?.Exit();
                return ProblemWriter.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "no-healthy-upstream", "No healthy upstream",
                    $"Service '{upstream.Name}' has no healthy target right now; try again shortly.", requestId);
            }

            if (upstream.TryBeginRequest(destination))
            {
                var sb = new DefaultInterpolatedStringHandler(0, 0);
                var transform = exchange?.Policies.RequestTransform;
                if (transform is { ChangesPath: true })
                {
                    transform.AppendPath(ref sb, exchange!);
                }
                else
                {
                    route.UpstreamPath.AppendTo(ref sb, path, captures);
                }

                var query = context.Request.QueryString.Value ?? "";
                if (route.ApiKeyInQuery && !route.ForwardCredential && snapshot.Access is { } access)
                {
                    query = QueryWithout(query, access.KeyQueryParameter);
                }

                if (transform is { ChangesQuery: true })
                {
                    query = transform.TransformQuery(query, exchange!);
                }

                // The target is built only from checked bytes: the path was encoded by the template, the query is here.
                if (!QueryEncoding.TryAppend(ref sb, query))
                {
                    sb.ToStringAndClear();
                    upstream.EndRequest(destination, Upstreams.UpstreamOutcome.NotJudged);
                    upstream.Gate?.Exit();
                    return ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "bad-request-target", "Bad request target",
                        "The query holds a character that is not valid UTF-16 text; send it percent-encoded.", requestId);
                }

                // The forwarder owns the begun request (and the concurrency slot) from here and ends it on every path.
                return forwarder.ForwardAsync(context, route, destination, sb.ToStringAndClear(), requestId, snapshot.IsTrustedProxy(context.Connection.RemoteIpAddress), admission, exchange);
            }

            // A reload retired this route's upstream after we read the snapshot; the new one is already live. The
            // access decision already made stands: it was made on a revision that was live when the request came.
            upstream.Gate?.Exit();
            gateHeld = false;
            snapshot = runtime.Current;
            captures = default;
            if (Match(context, snapshot, path, requestId, context.Features.Get<RoutePin>(), out var again, ref captures) is { } problem)
            {
                return problem;
            }

            route = again!;
        }
    }

    /// <summary>The slow path of a service's concurrency limits: wait in line for a slot, or answer 503 at once.</summary>
    private async Task WaitAtGateAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures, string path, string requestId, Admission admission, Resilience.ConcurrencyGate gate)
    {
        if (!await gate.EnterAsync(context.RequestAborted).ConfigureAwait(false))
        {
            if (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }

            Resilience.ResilienceMetrics.Overload(route.Upstream!.Name);
            await ProblemWriter.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "upstream-overloaded", "Upstream overloaded",
                $"Service '{route.Upstream!.Name}' has {gate.MaxRequests} requests in flight from this gateway, its limit (services.{route.Upstream!.Name}.concurrency); try again shortly.",
                requestId).ConfigureAwait(false);
            return;
        }

        await PickAndForwardAsync(context, snapshot, route, captures, path, requestId, admission, faultsDone: true, gateHeld: true).ConfigureAwait(false);
    }

    /// <summary>Runs the route's fault injection, then answers with the injected status or forwards.</summary>
    private async Task InjectFaultsAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures, string path, string requestId, Admission admission, Resilience.FaultInjector faults)
    {
        int status;
        try
        {
            status = await faults.InjectAsync(context.RequestAborted).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        if (status != 0)
        {
            await ProblemWriter.WriteAsync(context, status, "fault-injected", "Fault injected",
                $"Route '{route.Id}' injects faults for testing (routes.{route.Id}.faults), and this request drew one.", requestId).ConfigureAwait(false);
            return;
        }

        await PickAndForwardAsync(context, snapshot, route, captures, path, requestId, admission, faultsDone: true).ConfigureAwait(false);
    }

    /// <summary>
    /// Answers 413 for a body whose declared length is over the limit. Kestrel makes the refusal itself (its
    /// first read of such a body throws), so it also knows to close the connection, as it does for every body
    /// it refuses; answering without touching the body left clients still sending into a closing connection.
    /// </summary>
    private static async Task RefuseOversizedBodyAsync(HttpContext context, string requestId)
    {
        try
        {
            await context.Request.Body.ReadAsync(new byte[1], context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException)
        {
            // Expected: "Request body too large".
        }
        catch (Exception) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        await ProblemWriter.WriteBodyTooLargeAsync(context, requestId).ConfigureAwait(false);
    }
}
