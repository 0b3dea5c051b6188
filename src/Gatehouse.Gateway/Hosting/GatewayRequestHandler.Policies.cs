using Gatehouse.Gateway.Policies;
using Gatehouse.Gateway.Policies.Caching;
using Gatehouse.Gateway.Policies.Cors;
using Gatehouse.Gateway.Policies.Validation;
using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Runtime;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Hosting;

/// <summary>
/// The request path of a route with policies (issue 23), in the one order docs/policies.md states: cors, ipFilter,
/// authenticate/authorize/limit, compress, validate, cache, transform, forward; response work in reverse. A route without
/// policies never comes here.
/// </summary>
internal sealed partial class GatewayRequestHandler
{
    private Task RunPoliciesAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures, string path, string requestId)
    {
        var policies = route.Policies!;
        if (!policies.HeadersOnly)
        {
            return RunAllPoliciesAsync(context, snapshot, route, captures, path, requestId);
        }

        // Headers, path and query alone: the same stages in the same order, run inline (one async method fewer per request,
        // and no completion step, since with no cache, body transform or response check the exchange has none).
        var exchange = new PolicyExchange(policies, context, captures, path, requestId);
        if (policies.Cors is { } cors)
        {
            if (CorsPolicy.IsPreflight(context.Request))
            {
                return cors.AnswerPreflightAsync(context, requestId);
            }

            cors.Begin(context, exchange);
        }

        if (policies.IpFilter is { } filter && !filter.Allows(ClientAddress(context, snapshot)))
        {
            return RefuseAddressAsync(context, requestId, $"the route '{route.Id}' IP filter");
        }

        return route.Access is null
            ? PickAndForwardAsync(context, snapshot, route, captures, path, requestId, default, exchange)
            : AdmitAndForwardAsync(context, snapshot, route, captures, path, requestId, exchange);
    }

    private async Task RunAllPoliciesAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures, string path, string requestId)
    {
        var policies = route.Policies!;
        var exchange = new PolicyExchange(policies, context, captures, path, requestId);

        // 1. cors: a preflight is answered here; an actual request gets its headers when the response starts.
        if (policies.Cors is { } cors)
        {
            if (CorsPolicy.IsPreflight(context.Request))
            {
                await cors.AnswerPreflightAsync(context, requestId).ConfigureAwait(false);
                return;
            }

            cors.Begin(context, exchange);
        }

        // 2. ipFilter
        if (policies.IpFilter is { } filter && !filter.Allows(ClientAddress(context, snapshot)))
        {
            await RefuseAddressAsync(context, requestId, $"the route '{route.Id}' IP filter").ConfigureAwait(false);
            return;
        }

        // 3. authenticate, authorize, limit (and the caller's application and plan IP filters)
        if (route.Access is not null)
        {
            if (await AdmitAsync(context, snapshot, route, requestId).ConfigureAwait(false) is not { } admission)
            {
                return;
            }

            exchange.Admission = admission;
        }

        // 4. grpcWeb, then compress: the stages below read the request and write the response through them.
        if (policies.GrpcWeb is { } grpcWeb)
        {
            await grpcWeb.InvokeAsync(context, _ => CompressAndServeAsync(context, snapshot, route, captures, path, requestId, exchange)).ConfigureAwait(false);
            return;
        }

        await CompressAndServeAsync(context, snapshot, route, captures, path, requestId, exchange).ConfigureAwait(false);
    }

    private Task CompressAndServeAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures, string path, string requestId, PolicyExchange exchange) =>
        exchange.Policies.Compress is { } compress
            ? compress.InvokeAsync(context, _ => ServeAsync(context, snapshot, route, captures, path, requestId, exchange))
            : ServeAsync(context, snapshot, route, captures, path, requestId, exchange);

    // Stages 5 to 8 of a route with policies, and the response half of each.
    private async Task ServeAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures, string path, string requestId, PolicyExchange exchange)
    {
        var policies = exchange.Policies;

        // 5. validate
        if (policies.Validation is { } validation)
        {
            var outcome = await validation.ValidateAsync(exchange).ConfigureAwait(false);
            if (outcome.Status != 0)
            {
                await WriteValidationProblemAsync(context, outcome, requestId).ConfigureAwait(false);
                return;
            }
        }

        // 5b. respond: the route's fixed answer, instead of the service's.
        if (policies.Respond is { } respond)
        {
            await respond.WriteAsync(exchange, requestId, exchange.Admission.Limits).ConfigureAwait(false);
            return;
        }

        // 6. cache: a hit is answered here, after authentication, plans and limits have counted it.
        if (policies.Cache is { } cache)
        {
            var fromTrustedProxy = snapshot.IsTrustedProxy(context.Connection.RemoteIpAddress);
            var lookup = await cache.LookupAsync(exchange, fromTrustedProxy).ConfigureAwait(false);

            // only-if-cached (RFC 9111 §5.2.1.7): the client wants the cache's answer or none; the service is never asked.
            var onlyIfCached = CachePolicy.OnlyIfCached(context.Request.Headers);
            if (!onlyIfCached && lookup is { Key: { } missed, Found: null } && cache.Collapse > TimeSpan.Zero)
            {
                // collapse: one request of the key goes to the service; the others wait for its answer, then look again.
                if (cache.Store.TryBeginFill(missed, out var filling))
                {
                    exchange.Filling = missed;
                }
                else
                {
                    try
                    {
                        await filling.WaitAsync(cache.Collapse, context.RequestAborted).ConfigureAwait(false);
                        lookup = await cache.LookupAsync(exchange, fromTrustedProxy).ConfigureAwait(false);
                    }
                    catch (TimeoutException)
                    {
                        // Slower than collapse allows: this request goes to the service itself.
                    }
                }
            }

            if (lookup.Key is null)
            {
                if (onlyIfCached)
                {
                    await cache.AnswerNotCachedAsync(exchange).ConfigureAwait(false);
                    return;
                }

                context.Response.Headers[CachePolicy.StatusHeader] = "bypass";
            }
            else
            {
                var now = cache.Now;
                switch (cache.Decide(lookup, context.Request.Headers, now))
                {
                    case CacheAction.Hit:
                        await cache.ServeAsync(exchange, lookup.Found!, "hit").ConfigureAwait(false);
                        return;
                    case CacheAction.ServeStale:
                        await cache.ServeAsync(exchange, lookup.Found!, "stale").ConfigureAwait(false);
                        return;
                    case CacheAction.Refresh when onlyIfCached:
                        // Stale within stale-while-revalidate is usable; the refresh is left to the next request that may go.
                        cache.Store.EndRefresh(lookup.Key);
                        await cache.ServeAsync(exchange, lookup.Found!, "stale").ConfigureAwait(false);
                        return;
                    case CacheAction.Refresh:
                        exchange.Refreshing = lookup.Key;
                        break;
                    case CacheAction.Miss when onlyIfCached:
                        await cache.AnswerNotCachedAsync(exchange).ConfigureAwait(false);
                        return;
                }

                exchange.CacheLookup = lookup;
                if (lookup.Found is { } stale && now < stale.ErrorUntil)
                {
                    exchange.Fallback = stale;
                    exchange.HoldForFallback();
                }
            }
        }

        // 7. transform (path and query here, headers at the forwarder's seams), 8. forward; then the response half.
        try
        {
            await PickAndForwardAsync(context, snapshot, route, captures, path, requestId, exchange.Admission, exchange).ConfigureAwait(false);
        }
        finally
        {
            await exchange.CompleteAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Answers an OPTIONS preflight for the route the asked-for method would reach, when that route has CORS; null otherwise.</summary>
    private static Task? Preflight(HttpContext context, GatewaySnapshot snapshot, string path, string requestId)
    {
        var request = context.Request;
        if (!CorsPolicy.IsPreflight(request))
        {
            return null;
        }

        var method = HttpMethods.GetCanonicalizedValue(request.Headers.AccessControlRequestMethod.ToString());
        var captures = default(RouteCaptures);
        var allowed = default(AllowedMethods);
        var outcome = snapshot.Routes.Match(method, PathSafety.HostWithoutPort(request.Host.Value), path, out var route, ref captures, ref allowed, request, preflight: true);
        return outcome == MatchOutcome.Matched && route!.Policies?.Cors is { } cors ? cors.AnswerPreflightAsync(context, requestId) : null;
    }

    private static Task WriteValidationProblemAsync(HttpContext context, ValidationOutcome outcome, string requestId)
    {
        if (outcome.Errors is not { } errors)
        {
            var (slug, title) = outcome.Status == StatusCodes.Status415UnsupportedMediaType
                ? ("unsupported-media-type", "Unsupported media type")
                : ("validation-body-too-large", "Request body too large to check");
            return ProblemWriter.WriteAsync(context, outcome.Status, slug, title, outcome.Detail!, requestId);
        }

        var first = errors[0];
        var where = first.In == "body" ? $"the body at '{first.Pointer}'" : $"{first.In} parameter '{first.Name}'";
        return ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "invalid-request", "Invalid request",
            $"The request does not fit the operation's schema: {Gatehouse.Model.Text.Plural.Count(errors.Count, "error")}, the first in {where}: {first.Detail} Fix the fields listed in 'errors'.", requestId,
            extensions: writer =>
            {
                writer.WriteStartArray("errors");
                foreach (var e in errors)
                {
                    writer.WriteStartObject();
                    writer.WriteString("in", e.In);
                    if (e.Name is not null)
                    {
                        writer.WriteString("name", e.Name);
                    }

                    writer.WriteString("pointer", e.Pointer);
                    writer.WriteString("detail", e.Detail);
                    writer.WriteEndObject();
                }

                writer.WriteEndArray();
            });
    }
}
