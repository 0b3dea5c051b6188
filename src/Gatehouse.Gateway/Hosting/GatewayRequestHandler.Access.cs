using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Routing;
using Gatehouse.Gateway.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Hosting;

/// <summary>The authenticate → authorize → limit steps of a route that has them (a revision with plans).</summary>
internal sealed partial class GatewayRequestHandler
{
    private Task AdmitAndForwardAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures, string path, string requestId,
        Policies.PolicyExchange? exchange = null)
    {
        // Admission almost always completes at once (a key, a plan, in-memory counters): then the forwarder's task is this
        // request's task, with no async method of its own around it (issue 25: that method's state machine, boxed because
        // the forwarding always waits, was one of the access steps' larger costs).
        var admitting = AdmitAsync(context, snapshot, route, requestId);
        if (!admitting.IsCompletedSuccessfully)
        {
            return AdmitLaterAndForwardAsync(admitting, context, snapshot, route, captures, path, requestId, exchange);
        }

        if (admitting.Result is not { } admission)
        {
            return Task.CompletedTask;
        }

        if (exchange is not null)
        {
            exchange.Admission = admission;
        }

        return PickAndForwardAsync(context, snapshot, route, captures, path, requestId, admission, exchange);
    }

    private async Task AdmitLaterAndForwardAsync(ValueTask<Admission?> admitting, HttpContext context, GatewaySnapshot snapshot, RouteModel route, RouteCaptures captures,
        string path, string requestId, Policies.PolicyExchange? exchange)
    {
        if (await admitting.ConfigureAwait(false) is { } admission)
        {
            if (exchange is not null)
            {
                exchange.Admission = admission;
            }

            await PickAndForwardAsync(context, snapshot, route, captures, path, requestId, admission, exchange).ConfigureAwait(false);
        }
    }

    /// <summary>Authenticate, authorize, limit: the admission, or null when the request was refused (and answered).</summary>
    private async ValueTask<Admission?> AdmitAsync(HttpContext context, GatewaySnapshot snapshot, RouteModel route, string requestId)
    {
        var access = snapshot.Access!;
        var target = route.Access!;
        var engine = runtime.Engine;
        // An MCP tool call of a caller who showed a bearer token for /mcp: the application by its client id, re-checked
        // against this snapshot (a reload may have removed it); there is no credential to strip or forward.
        var (caller, credentialHeader) = context.Features.Get<InProcessCaller>() is { } inProcess
            ? (engine.FindClient(access, inProcess.ClientId) is { } known ? Caller.Of(known, CredentialKind.Bearer) with { Scopes = inProcess.Scopes } : Caller.Invalid(CredentialKind.Bearer, "invalid_token"), (string?)null)
            : ReadKeyCaller(context, access, route, engine);
        if (caller.Kind == CallerKind.Anonymous && access.BasicUsers is not null && BasicCredential(context.Request) is { } basic)
        {
            caller = engine.AuthenticateBasic(access, basic);
            credentialHeader = HeaderNames.Authorization;
        }

        if (caller.Kind == CallerKind.Anonymous && (access.Jwt is not null || access.Introspection is not null) && BearerToken(context.Request) is { } token)
        {
            caller = await engine.AuthenticateBearerAsync(access, token, target.Scopes is not null).ConfigureAwait(false);
            credentialHeader = HeaderNames.Authorization;
        }

        // Only on listeners with clientCertificates, whose handshake left a verdict on the connection.
        if (caller.Kind == CallerKind.Anonymous && access.Certificates is not null && context.Features.Get<Authentication.ClientCertificateVerdict>() is { } certificate)
        {
            caller = AccessEngine.AuthenticateCertificate(access, certificate);
        }

        // An application's address filters (its own ipFilter, else its plan's; and a portal application's owner's allowed
        // addresses) are checked before anything is counted: a credential used from elsewhere (a leaked key, say) uses
        // none of its owner's limits.
        if (caller.Application is { HasAddressFilters: true } calling && calling.RefuseAddress(ClientAddress(context, snapshot)) is { } refusedBy)
        {
            if (_telemetry.Active && context.Features.Get<Observability.RequestObservation>() is { } refused)
            {
                refused.Application = calling.Id;
                refused.Plan = calling.Plan.Name;
            }

            await RefuseAddressAsync(context, requestId, refusedBy).ConfigureAwait(false);
            return null;
        }

        var decision = await engine.DecideAsync(access, caller, target, target.IsWrite(context.Request.Method), caller.Kind == CallerKind.Anonymous ? ClientKey(context, snapshot) : "", LimitAction.Count).ConfigureAwait(false);
        if (_telemetry.Active && context.Features.Get<Observability.RequestObservation>() is { } observation)
        {
            observation.Application = decision.Application?.Id;
            observation.Plan = decision.Plan?.Name;
        }

        if (decision.Verdict != AccessVerdict.Allowed && route.Composition is { } composition)
        {
            Composition.CompositionMetrics.Request(composition.Id, Composition.CompositionMetrics.Outcome.Refused);
        }

        switch (decision.Verdict)
        {
            case AccessVerdict.Unauthenticated:
                var challenge = caller.Credential == CredentialKind.Bearer ? "Bearer error=\"invalid_token\"" : target.Scopes?.Unauthenticated ?? access.WwwAuthenticate;
                await ProblemWriter.WriteAsync(context, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized", decision.Detail!, requestId,
                    [new(HeaderNames.WWWAuthenticate, challenge)]).ConfigureAwait(false);
                return null;
            case AccessVerdict.Forbidden when decision.Reason == "insufficient_scope":
                await ProblemWriter.WriteAsync(context, StatusCodes.Status403Forbidden, "insufficient-scope", "Insufficient scope", decision.Detail!, requestId,
                    [new(HeaderNames.WWWAuthenticate, target.Scopes!.Challenge)]).ConfigureAwait(false);
                return null;
            case AccessVerdict.Forbidden:
                await ProblemWriter.WriteAsync(context, StatusCodes.Status403Forbidden, "forbidden", "Forbidden", decision.Detail!, requestId).ConfigureAwait(false);
                return null;
            case AccessVerdict.Limited:
                if (decision.Plan is { } limitedPlan && decision.Limits.Policy is { } policy)
                {
                    Observability.GatewayMetrics.Limited(limitedPlan.Name, policy.Per, policy.IsQuota ? Observability.GatewayMetrics.LimitKind.Quota : Observability.GatewayMetrics.LimitKind.Rate, Observability.GatewayMetrics.LimitSource.Proxy);
                }

                await LimitHeaders.WriteProblemAsync(context, decision.Limits, requestId).ConfigureAwait(false);
                return null;
        }

        // The anonymous plan's IP filter (issue 23); an application's were checked above.
        if (decision.Application is null && decision.Plan?.IpFilter is { } filter && !filter.Allows(ClientAddress(context, snapshot)))
        {
            await RefuseAddressAsync(context, requestId, $"the plan '{decision.Plan.Name}' IP filter").ConfigureAwait(false);
            return null;
        }

        return new Admission(decision.Application, decision.Plan, decision.Limits, route.ForwardCredential ? null : credentialHeader);
    }

    /// <summary>The API key from the configured header, or from the query where the route allows it.</summary>
    private static (Caller Caller, string? Header) ReadKeyCaller(HttpContext context, AccessModel access, RouteModel route, AccessEngine engine)
    {
        var request = context.Request;
        var header = request.Headers[access.KeyHeader];
        if (header.Count > 0)
        {
            // Two keys in one request is a confused client or a probe; neither gets to pick.
            return (header.Count == 1 ? engine.AuthenticateKey(access, header.ToString(), CredentialKind.ApiKeyHeader) : Caller.Invalid(CredentialKind.ApiKeyHeader), access.KeyHeader);
        }

        if (route.ApiKeyInQuery && request.Query[access.KeyQueryParameter] is { Count: > 0 } query)
        {
            return (query.Count == 1 ? engine.AuthenticateKey(access, query.ToString(), CredentialKind.ApiKeyQuery) : Caller.Invalid(CredentialKind.ApiKeyQuery), null);
        }

        // OpenAI's clients send their key as "Authorization: Bearer KEY"; on a model route that is the application's API
        // key unless it looks like a JWT (three dot-separated parts), which goes to the JWT step as everywhere else.
        if (route.Ai is not null && BearerToken(request) is { } bearer && bearer.AsSpan().Count('.') != 2)
        {
            return (engine.AuthenticateKey(access, bearer, CredentialKind.Bearer), HeaderNames.Authorization);
        }

        return (Caller.Anonymous, null);
    }

    private static string? BasicCredential(HttpRequest request)
    {
        var value = request.Headers.Authorization;
        if (value.Count != 1)
        {
            return null;
        }

        var text = value.ToString();
        return text.Length > 6 && text.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase) ? text[6..].Trim() : null;
    }

    private static string? BearerToken(HttpRequest request)
    {
        var value = request.Headers.Authorization;
        if (value.Count != 1)
        {
            return null;
        }

        var text = value.ToString();
        return text.Length > 7 && text.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? text[7..].Trim() : null;
    }

    /// <summary>
    /// The client's address: the connection's; or, from a trusted proxy, <c>X-Forwarded-For</c> read from the right, each
    /// trusted proxy vouching for the address before it, up to the first address that is not a trusted proxy (as nginx's
    /// <c>real_ip_recursive</c> reads it: behind a CDN and a load balancer, both listed, the client is the CDN's client).
    /// What is left of that address was written by the client and is not read. Null when an entry read is not an address.
    /// </summary>
    internal static System.Net.IPAddress? ClientAddress(HttpContext context, GatewaySnapshot snapshot)
    {
        var remote = context.Connection.RemoteIpAddress;
        if (!snapshot.IsTrustedProxy(remote) || context.Request.Headers["X-Forwarded-For"] is not { Count: > 0 } forwardedFor)
        {
            return remote;
        }

        System.Net.IPAddress? address = null;
        for (var line = forwardedFor.Count - 1; line >= 0; line--)
        {
            var text = (forwardedFor[line] ?? "").AsSpan();
            while (true)
            {
                var comma = text.LastIndexOf(',');
                if (!System.Net.IPAddress.TryParse(text[(comma + 1)..].Trim(), out address))
                {
                    return null;
                }

                if (!snapshot.IsTrustedProxy(address) || comma < 0)
                {
                    break;
                }

                text = text[..comma];
            }

            if (!snapshot.IsTrustedProxy(address))
            {
                return address;
            }
        }

        // Every address was a trusted proxy's: the leftmost is as near the client as anyone vouched for.
        return address;
    }

    private static Task RefuseAddressAsync(HttpContext context, string requestId, string by) =>
        ProblemWriter.WriteAsync(context, StatusCodes.Status403Forbidden, "ip-refused", "Address refused",
            $"Calls from this address are not allowed by {by}; call from an allowed network.", requestId);


    /// <summary>What anonymous requests count under: the client address (<see cref="ClientAddress"/>).</summary>
    private static string ClientKey(HttpContext context, GatewaySnapshot snapshot) =>
        "client:" + (ClientAddress(context, snapshot)?.ToString() ?? "unknown");

    /// <summary><paramref name="query"/> (with its '?') without the parameter <paramref name="name"/>.</summary>
    internal static string QueryWithout(string query, string name)
    {
        if (query.Length == 0)
        {
            return query;
        }

        var kept = query[1..].Split('&').Where(part =>
        {
            var eq = part.IndexOf('=');
            var key = Uri.UnescapeDataString((eq < 0 ? part : part[..eq]).Replace('+', ' '));
            return !string.Equals(key, name, StringComparison.OrdinalIgnoreCase);
        });
        var joined = string.Join('&', kept);
        return joined.Length == 0 ? "" : "?" + joined;
    }
}
