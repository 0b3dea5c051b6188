using System.Diagnostics.Metrics;
using Gatehouse.Gateway.Authentication;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Model.Access;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Access;

/// <summary>How the limit step treats counters.</summary>
internal enum LimitAction
{
    /// <summary>Check and count when allowed (the proxy, authrep).</summary>
    Count,
    /// <summary>Check only (authorize).</summary>
    Peek,
}

/// <summary>
/// The one decision engine of authenticate → authorize → limit, used by the proxy and by the authorize/report API
/// alike, so both always agree. Reads only the snapshot's <see cref="AccessModel"/> and the in-memory counters.
/// </summary>
internal sealed partial class AccessEngine(Limiter limiter, TimeProvider time, ILogger logger, ConsumerDirectory? consumers = null)
{
    private static readonly Meter Meter = new("Gatehouse.Access");

    /// <summary>Refusals that a shadow-mode rule let through, tagged with the rule (<c>authentication</c>, <c>plan</c>).</summary>
    internal static readonly Counter<long> ShadowRefusals = Meter.CreateCounter<long>("gatehouse.access.shadow_refusals", description: "Requests a shadow-mode rule would have refused");

    public Limiter Limiter => limiter;

    public TimeProvider Time => time;

    /// <summary>The applications made in the developer portal, consulted after the snapshot's own keys.</summary>
    public ConsumerDirectory Consumers { get; } = consumers ?? new ConsumerDirectory();

    /// <summary>The keys authenticated lately, found again without their SHA-256.</summary>
    internal KeyCache Keys { get; } = new();

    /// <summary>Authenticates an API key (from the header or, where the route allows it, the query).</summary>
    public Caller AuthenticateKey(AccessModel model, ReadOnlySpan<char> key, CredentialKind kind)
    {
        if (key.Length > ApiKeyHash.MaxKeyLength)
        {
            return Caller.Invalid(kind);
        }

        Span<byte> utf8 = stackalloc byte[key.Length * 3];
        utf8 = utf8[..System.Text.Encoding.UTF8.GetBytes(key, utf8)];
        var digest = KeyCache.DigestOf(utf8);
        if (!Keys.TryGet(digest, model, out var application, out var expires))
        {
            Span<char> hex = stackalloc char[64];
            ApiKeyHash.Sha256Hex(utf8, hex);
            if (model.KeyLookup.TryGetValue(hex, out var entry))
            {
                (application, expires) = (entry.Application, entry.ExpiresUtcTicks);
                Keys.Put(digest, model, application, expires);
            }
            else if (Consumers.TryFind(model, hex, out application, out expires, out var handle))
            {
                Keys.PutPortal(digest, model, handle!);
            }
            else
            {
                return Caller.Invalid(kind);
            }
        }

        // An expired key answers exactly like an unknown one: no oracle for which keys once existed. A key without an
        // expiry (the usual case) reads no clock.
        return expires != DateTime.MaxValue.Ticks && expires <= time.GetUtcNow().UtcTicks ? Caller.Invalid(kind) : Caller.Of(application!, kind);
    }

    /// <summary>
    /// Authenticates an HTTP Basic credential (the base64 after <c>Basic </c>). The password's hash is always computed
    /// and compared in constant time, also for an unknown user (against a stand-in), so timing tells nothing.
    /// </summary>
    public Caller AuthenticateBasic(AccessModel model, ReadOnlySpan<char> encoded)
    {
        Span<byte> decoded = stackalloc byte[384];
        if (model.BasicUsers is not { } users || !Convert.TryFromBase64Chars(encoded, decoded, out var length))
        {
            return Caller.Invalid(CredentialKind.Basic);
        }

        var text = decoded[..length];
        var colon = text.IndexOf((byte)':');
        if (colon < 0)
        {
            return Caller.Invalid(CredentialKind.Basic);
        }

        Span<byte> hash = stackalloc byte[32];
        System.Security.Cryptography.SHA256.HashData(text[(colon + 1)..], hash);
        var username = System.Text.Encoding.UTF8.GetString(text[..colon]);
        var found = users.TryGetValue(username, out var user);
        var equal = System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(hash, found ? user.Sha256 : StandIn);
        return found && equal ? Caller.Of(user.Application, CredentialKind.Basic) : Caller.Invalid(CredentialKind.Basic);
    }

    /// <summary>
    /// Authenticates the TLS client certificate of the connection: it must chain to the listener's CA and be one of an
    /// application's, by thumbprint or by subject and issuer. Anything else is the same invalid credential.
    /// </summary>
    public static Caller AuthenticateCertificate(AccessModel model, ClientCertificateVerdict verdict)
    {
        if (!verdict.Trusted || model.Certificates is not var (byThumbprint, bySubject))
        {
            return Caller.Invalid(CredentialKind.ClientCertificate);
        }

        if (byThumbprint.TryGetValue(verdict.Thumbprint, out var app)
            || (verdict.SubjectAndIssuer is { } subject && bySubject.TryGetValue(subject, out app)))
        {
            return Caller.Of(app, CredentialKind.ClientCertificate);
        }

        return Caller.Invalid(CredentialKind.ClientCertificate);
    }

    private static readonly byte[] StandIn = System.Security.Cryptography.RandomNumberGenerator.GetBytes(32);

    /// <summary>
    /// Authenticates a bearer token against the configured issuers (or the introspection endpoint) and maps it to an
    /// application. With <paramref name="scopes"/> (a target that requires scopes), the caller carries the token's scopes.
    /// </summary>
    public async ValueTask<Caller> AuthenticateBearerAsync(AccessModel model, string token, bool scopes = false)
    {
        // A token that is not a JWT (or when no issuer is configured) is opaque: the introspection endpoint decides.
        if (model.Introspection is { } introspection && (model.Jwt is null || token.AsSpan().Count('.') != 2))
        {
            return await introspection.IntrospectAsync(token).ConfigureAwait(false) is { } answer && FindClient(model, answer.ClientId) is { } client
                ? Caller.Of(client, CredentialKind.Bearer) with { Scopes = scopes ? answer.Scope : null }
                : Caller.Invalid(CredentialKind.Bearer, "invalid_token");
        }

        if (model.Jwt is null)
        {
            return Caller.Invalid(CredentialKind.Bearer, "invalid_token");
        }

        var result = await model.Jwt.ValidateAsync(token, scopes: scopes).ConfigureAwait(false);
        if (!result.Succeeded || result.ApplicationId is null || FindClient(model, result.ApplicationId) is not { } app)
        {
            return Caller.Invalid(CredentialKind.Bearer, "invalid_token");
        }

        return Caller.Of(app, CredentialKind.Bearer) with { Scopes = result.Scopes };
    }

    /// <summary>
    /// The application whose OAuth client <paramref name="clientId"/> is: a config application's (<c>clientIds</c>) first,
    /// then a portal application's (<see cref="ConsumerDirectory.FindClient"/>); null when neither.
    /// </summary>
    public ApplicationModel? FindClient(AccessModel model, string clientId) =>
        model.ByClientId.TryGetValue(clientId, out var app) ? app : Consumers.FindClient(model, clientId);

    /// <summary>
    /// Authenticates a bearer JWT presented to a resource server of the gateway (the MCP endpoint): it must be issued by
    /// one of <paramref name="issuers"/> for exactly <paramref name="audience"/>, and is mapped to an application as any JWT.
    /// Opaque tokens are not accepted here: introspection cannot say which resource a token is for.
    /// </summary>
    public async ValueTask<(Caller Caller, string? ClientId)> AuthenticateResourceTokenAsync(AccessModel model, string token, string audience, IReadOnlyCollection<string> issuers)
    {
        if (model.Jwt is null || token.AsSpan().Count('.') != 2)
        {
            return (Caller.Invalid(CredentialKind.Bearer, "invalid_token"), null);
        }

        // Its scopes are read once here (one read per MCP request, not per proxied one) and carried to the tool calls
        // made on its behalf, which present no token of their own for an operation's requireScopes to read.
        var result = await model.Jwt.ValidateAsync(token, audience, issuers, scopes: true).ConfigureAwait(false);
        return result.Succeeded && result.ApplicationId is { } id && FindClient(model, id) is { } app
            ? (Caller.Of(app, CredentialKind.Bearer) with { Scopes = result.Scopes }, id)
            : (Caller.Invalid(CredentialKind.Bearer, "invalid_token"), null);
    }

    /// <summary>
    /// Decides whether <paramref name="caller"/> may make a request of <paramref name="target"/> with
    /// <paramref name="write"/> access. <paramref name="anonymousKey"/> is what anonymous requests count under (read only for an anonymous caller; the
    /// client address).
    /// </summary>
    public AccessDecision Decide(AccessModel model, in Caller caller, AccessTarget target, bool write, string anonymousKey, LimitAction action)
    {
        PlanModel plan;
        string counterKey;
        ApplicationModel? app = null;
        switch (caller.Kind)
        {
            case CallerKind.Application:
                app = caller.Application!;
                plan = app.Plan;
                counterKey = app.Id;
                break;
            // An anonymous call carries no token, so no scopes: a target that requires some is not the anonymous plan's.
            case CallerKind.Anonymous when model.Anonymous is { } anonymous && (write ? target.Write : target.Read)[anonymous.Index] is not null && target.Scopes is null:
                plan = anonymous;
                counterKey = anonymousKey;
                break;
            default:
                var (reason, detail) = caller.Kind == CallerKind.Anonymous
                    ? ("missing_credential", target.Scopes is { } scopes
                        ? $"The {target.Name} needs a bearer token with the scope{(scopes.Scopes.Length == 1 ? "" : "s")} '{scopes.Text}'."
                        : $"The {target.Name} needs a credential: an API key in the '{model.KeyHeader}' header{(model.Jwt is null ? "" : " or a bearer token")}.")
                    : ("invalid_credential", "The credential is not valid: the key or token is unknown, revoked or expired.");
                if (model.AuthenticationShadow)
                {
                    LogShadow(logger, "authentication", reason, target.Name);
                    ShadowRefusals.Add(1, new KeyValuePair<string, object?>("rule", "authentication"));
                    return new AccessDecision { Verdict = AccessVerdict.Allowed, Shadowed = reason };
                }

                return new AccessDecision { Verdict = AccessVerdict.Unauthenticated, Reason = reason, Detail = detail };
        }

        // Only a target that requires scopes looks at them; a token without one of them (or a credential that is not a
        // bearer token, which carries none) is refused before its plan is asked (RFC 6750 §3.1: insufficient_scope).
        if (target.Scopes is { } required && app is not null && required.FirstMissing(caller.Credential == CredentialKind.Bearer ? caller.Scopes : null) is { } missing)
        {
            return new AccessDecision { Verdict = AccessVerdict.Forbidden, Plan = plan, Application = app, Reason = "insufficient_scope", Detail = ScopeDetail(target, required, caller, missing) };
        }

        string? shadowed = null;
        var limits = (write ? target.Write : target.Read)[plan.Index];
        var refusal = app?.State switch
        {
            ApplicationState.Pending => ("application_pending", $"Application '{app.Id}' is pending: its subscription to plan '{plan.Name}' awaits approval, so it may not call {target.Name} yet."),
            ApplicationState.Suspended => ("application_suspended", $"Application '{app.Id}' on plan '{plan.Name}' is suspended, so it may not call {target.Name}; ask the API's administrators to reinstate it."),
            _ => limits is null
                ? ("not_granted", $"Plan '{plan.Name}' does not grant {(write ? "write" : "read")} access to {target.Name}.")
                : default((string, string)?),
        };

        if (refusal is var (code, why))
        {
            if (!plan.Shadow)
            {
                return new AccessDecision { Verdict = AccessVerdict.Forbidden, Plan = plan, Application = app, Reason = code, Detail = why };
            }

            LogShadow(logger, "plan " + plan.Name, code, target.Name);
            ShadowRefusals.Add(1, new KeyValuePair<string, object?>("rule", "plan"), new KeyValuePair<string, object?>("plan", plan.Name));
            shadowed = code;
            limits ??= plan.Limits;
        }

        if (limits!.Policies.Length == 0)
        {
            return new AccessDecision { Verdict = AccessVerdict.Allowed, Plan = plan, Application = app, Shadowed = shadowed };
        }

        var now = time.GetUtcNow();
        var decision = action == LimitAction.Count ? limiter.Check(counterKey, limits, now) : limiter.Peek(counterKey, limits, now);
        if (!decision.Allowed)
        {
            var quota = decision.Policy!.IsQuota;
            return new AccessDecision
            {
                Verdict = AccessVerdict.Limited,
                Plan = plan,
                Application = app,
                Limits = decision,
                Reason = quota ? "quota_exceeded" : "rate_limited",
                Detail = quota ? $"The quota of {decision.Policy.Requests} requests ({decision.Policy.Name}) is used up." : $"The rate limit of {decision.Policy.Requests} requests ({decision.Policy.Name}) is reached.",
                Shadowed = shadowed,
            };
        }

        return new AccessDecision { Verdict = AccessVerdict.Allowed, Plan = plan, Application = app, Limits = decision, Shadowed = shadowed };
    }

    private static string ScopeDetail(AccessTarget target, ScopeRequirement required, in Caller caller, string missing) =>
        caller.Credential == CredentialKind.Bearer
            ? $"The {target.Name} needs a bearer token with the scope{(required.Scopes.Length == 1 ? "" : "s")} '{required.Text}', and this token lacks '{missing}'; ask the authorization server for a token with {(required.Scopes.Length == 1 ? "it" : "them")}."
            : $"The {target.Name} takes only a bearer token with the scope{(required.Scopes.Length == 1 ? "" : "s")} '{required.Text}'; an API key, a password or a client certificate carries no scopes.";

    /// <summary>
    /// <see cref="Decide"/>, waiting when a strict cluster limit needs a new lease first (docs/limits.md): completes
    /// synchronously unless it does. After a few leases taken by this node's other requests before this one could use
    /// them, the request is refused as limited (an early refusal, inside the strict mode's under-use bound).
    /// </summary>
    public ValueTask<AccessDecision> DecideAsync(AccessModel model, Caller caller, AccessTarget target, bool write, string anonymousKey, LimitAction action)
    {
        var decision = Decide(model, caller, target, write, anonymousKey, action);
        return decision.Limits.Wait is null ? new(decision) : WaitAndDecideAsync(decision, model, caller, target, write, anonymousKey, action);
    }

    private async ValueTask<AccessDecision> WaitAndDecideAsync(AccessDecision decision, AccessModel model, Caller caller, AccessTarget target, bool write, string anonymousKey, LimitAction action)
    {
        for (var attempt = 0; attempt < 4 && decision.Limits.Wait is { } wait; attempt++)
        {
            await wait.ConfigureAwait(false);
            decision = Decide(model, caller, target, write, anonymousKey, action);
        }

        return decision;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Shadow mode ({Rule}): {Reason} on {Target}; let through")]
    private static partial void LogShadow(ILogger logger, string rule, string reason, string target);
}
