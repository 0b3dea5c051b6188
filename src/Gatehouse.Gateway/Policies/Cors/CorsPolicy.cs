using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Problems;
using Gatehouse.Model.Policies;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Policies.Cors;

/// <summary>
/// CORS of one route. Preflights are answered here, never forwarded; actual responses get the
/// <c>Access-Control-*</c> headers just before they start (upstream, cached or the gateway's own problems alike), and
/// any the service sent are dropped. An origin is echoed only when an entry allows it; <c>Vary: Origin</c> is always
/// added, since the answer depends on it.
/// </summary>
internal sealed class CorsPolicy(
    CorsOrigin[] origins,
    CorsOrigin[] preflightOrigins,
    string methods,
    string[] methodList,
    string[] headers,
    string headersText,
    string? expose,
    bool credentials,
    string maxAge)
{
    // The CORS headers of an answer, which only the policy writes (the HeaderNames instances: Kestrel finds them by reference).
    private static readonly string[] OwnedHeaders =
    [
        HeaderNames.AccessControlAllowOrigin, HeaderNames.AccessControlAllowCredentials, HeaderNames.AccessControlExposeHeaders,
        HeaderNames.AccessControlAllowMethods, HeaderNames.AccessControlAllowHeaders, HeaderNames.AccessControlMaxAge,
    ];

    // The exchange is the callback's state (its policies hold this policy): no object of its own per response.
    private static readonly Func<object, Task> ApplyCallback = static state => ((PolicyExchange)state).Policies.Cors!.Apply((PolicyExchange)state);

    /// <summary>The route's own origins; the caller's plan may add more (<see cref="PlanModel.CorsOrigins"/>).</summary>
    public CorsOrigin[] Origins => origins;

    /// <summary>True for a preflight: OPTIONS with <c>Origin</c> and <c>Access-Control-Request-Method</c>.</summary>
    public static bool IsPreflight(HttpRequest request) =>
        HttpMethods.IsOptions(request.Method) && request.Headers.Origin.Count > 0 && request.Headers.AccessControlRequestMethod.Count > 0;

    /// <summary>Answers a preflight: 204 with the allowances, or 403 <c>cors-preflight-refused</c> saying what is not allowed.</summary>
    public Task AnswerPreflightAsync(HttpContext context, string requestId)
    {
        var request = context.Request;
        var response = context.Response;
        response.Headers.Vary = "Origin, Access-Control-Request-Method, Access-Control-Request-Headers";
        var originText = request.Headers.Origin.ToString();
        if (request.Headers.Origin.Count != 1 || !CorsOrigin.TryRead(originText, out var origin) || !Allowed(preflightOrigins, origin))
        {
            return Refuse(context, requestId, $"Origin '{originText}' may not call this route from a browser; the route's CORS policy (or a plan's corsOrigins) must list it.");
        }

        var method = request.Headers.AccessControlRequestMethod.ToString();
        if (Array.IndexOf(methodList, method) < 0)
        {
            return Refuse(context, requestId, $"Method '{method}' is not allowed from a browser on this route; allowed: {methods}.");
        }

        foreach (var value in request.Headers.AccessControlRequestHeaders)
        {
            foreach (var range in (value ?? "").AsSpan().Split(','))
            {
                var name = (value ?? "").AsSpan(range).Trim();
                if (!name.IsEmpty && !Contains(headers, name))
                {
                    return Refuse(context, requestId, $"Header '{name}' is not allowed from a browser on this route; allowed: {(headersText.Length == 0 ? "none beyond the CORS-safelisted ones" : headersText)}.");
                }
            }
        }

        response.StatusCode = StatusCodes.Status204NoContent;
        response.Headers.AccessControlAllowOrigin = origins.Length > 0 && origins[0].Any && preflightOrigins.Length == 1 && !credentials ? "*" : originText;
        response.Headers.AccessControlAllowMethods = methods;
        if (headersText.Length > 0)
        {
            response.Headers.AccessControlAllowHeaders = headersText;
        }

        if (credentials)
        {
            response.Headers.AccessControlAllowCredentials = "true";
        }

        response.Headers.AccessControlMaxAge = maxAge;
        response.Headers["X-Request-Id"] = requestId;
        return Task.CompletedTask;
    }

    /// <summary>Arranges the <c>Access-Control-*</c> headers of an actual (non-preflight) response.</summary>
    public void Begin(HttpContext context, PolicyExchange exchange)
    {
        System.Diagnostics.Debug.Assert(ReferenceEquals(exchange.Policies.Cors, this), "the exchange's policies hold this policy");
        context.Response.OnStarting(ApplyCallback, exchange);
    }

    private static Task Refuse(HttpContext context, string requestId, string detail) =>
        ProblemWriter.WriteAsync(context, StatusCodes.Status403Forbidden, "cors-preflight-refused", "CORS preflight refused", detail, requestId,
            [new(HeaderNames.Vary, "Origin, Access-Control-Request-Method, Access-Control-Request-Headers")]);

    // With credentials, '*' allows no origin: reflecting any origin beside Access-Control-Allow-Credentials: true would
    // let every site make credentialed calls. Validation refuses '*' wherever it would meet credentials (a route's own
    // list, and a plan's on the routes it reaches); this holds even for a list that reached the policy some other way.
    private bool Allowed(CorsOrigin[] list, in (string, string, int) origin)
    {
        foreach (var o in list)
        {
            if (o.Matches(origin) && !(o.Any && credentials))
            {
                return true;
            }
        }

        return false;
    }

    // The common case without parsing: the Origin is, character for character, what a browser sends for a listed origin.
    private static bool IsListedExactly(CorsOrigin[] list, string origin)
    {
        foreach (var o in list)
        {
            if (string.Equals(o.Serialized, origin, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static bool Contains(string[] names, ReadOnlySpan<char> name)
    {
        foreach (var n in names)
        {
            if (name.Equals(n, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }

    // The Access-Control-* headers of an actual response, just before it starts.
    private Task Apply(PolicyExchange exchange)
    {
        var context = exchange.Context;
        var headers = context.Response.Headers;
        // The gateway owns CORS on this route: whatever the service said about it is not what the policy says.
        foreach (var name in OwnedHeaders)
        {
            headers.Remove(name);
        }

        var vary = headers.Vary;
        if (!VaryHasOrigin(vary))
        {
            headers.Vary = vary.Count == 0 ? "Origin" : StringValues.Concat(vary, "Origin");
        }

        var originHeader = context.Request.Headers.Origin;
        if (originHeader.Count != 1)
        {
            return Task.CompletedTask;
        }

        var originText = originHeader.ToString();
        if (!IsListedExactly(origins, originText)
            && !(CorsOrigin.TryRead(originText, out var origin)
                 && (Allowed(origins, origin) || (exchange.Admission.Plan?.CorsOrigins is { } extra && Allowed(extra, origin)))))
        {
            return Task.CompletedTask;
        }

        headers.AccessControlAllowOrigin = origins.Length == 1 && origins[0].Any && !credentials ? "*" : originText;
        if (credentials)
        {
            headers.AccessControlAllowCredentials = "true";
        }

        if (expose is not null)
        {
            headers.AccessControlExposeHeaders = expose;
        }

        return Task.CompletedTask;
    }

    private static bool VaryHasOrigin(StringValues vary)
    {
        foreach (var v in vary)
        {
            foreach (var range in (v ?? "").AsSpan().Split(','))
            {
                var token = (v ?? "").AsSpan(range).Trim();
                if (token.Equals("Origin", StringComparison.OrdinalIgnoreCase) || token.SequenceEqual("*"))
                {
                    return true;
                }
            }
        }

        return false;
    }
}
