using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Problems;
using Gatehouse.Gateway.Runtime;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.ServiceApi;

/// <summary>
/// The authorize/report API: <c>/api/authorize</c>, <c>/api/report</c>, <c>/api/authrep</c> and
/// <c>/api/openapi.json</c>. Every decision goes through <see cref="AccessEngine.Decide"/> on the live snapshot, so
/// the API and the proxy agree by construction; see docs/service-api.md. Calls counted here (authrep's, and reported
/// ones) are recorded as usage for analytics, as proxied requests are, when the gateway records usage.
/// </summary>
internal sealed class ServiceApiHandler(GatewayRuntime runtime, Observability.GatewayTelemetry? telemetry = null)
{
    /// <summary>Largest request body accepted (413 above it).</summary>
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary>Most entries in one usage report.</summary>
    public const int MaxReportEntries = 1000;

    /// <summary>The longest call a report may time: a day.</summary>
    public const double MaxDurationMs = 86_400_000;

    public async Task HandleAsync(HttpContext context)
    {
        var path = context.Request.Path.Value;
        var isPost = HttpMethods.IsPost(context.Request.Method);
        switch (path)
        {
            case "/api/openapi.json" when HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method):
                // The description is public knowledge; tools fetch it without a token.
                await ServiceApiDocument.WriteAsync(context).ConfigureAwait(false);
                return;
            case "/api/openapi.json":
                await MethodNotAllowedAsync(context, "GET, HEAD").ConfigureAwait(false);
                return;
            case "/api/authorize" or "/api/authrep" or "/api/report" when !isPost:
                await MethodNotAllowedAsync(context, "POST").ConfigureAwait(false);
                return;
            case "/api/authorize" or "/api/authrep" or "/api/report":
                break;
            default:
                await ProblemWriter.WriteAsync(context, StatusCodes.Status404NotFound, "no-route", "No route",
                    $"The service API has no {path}; it serves POST /api/authorize, /api/authrep, /api/report and GET /api/openapi.json.").ConfigureAwait(false);
                return;
        }

        var snapshot = runtime.Current;
        if (!IsAuthorized(context.Request, snapshot))
        {
            await ProblemWriter.WriteAsync(context, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized",
                "Send a service token of this gateway: 'Authorization: Bearer <token>' (its SHA-256 is in gateway.serviceApi.tokenSha256).",
                headers: [new(HeaderNames.WWWAuthenticate, "Bearer")]).ConfigureAwait(false);
            return;
        }

        if (context.Request.ContentLength > MaxBodyBytes)
        {
            await TooLargeAsync(context).ConfigureAwait(false);
            return;
        }

        if (snapshot.Access is not { } access)
        {
            await ProblemWriter.WriteAsync(context, StatusCodes.Status409Conflict, "no-plans", "No plans",
                "This gateway has no plans, so everything is open and there is nothing to authorize or count; define plans in the config.").ConfigureAwait(false);
            return;
        }

        if (path == "/api/report")
        {
            if (await ReadAsync(context, ServiceApiJson.Default.ReportBody).ConfigureAwait(false) is { } report)
            {
                await ReportAsync(context, access, report).ConfigureAwait(false);
            }

            return;
        }

        if (await ReadAsync(context, ServiceApiJson.Default.AuthorizeBody).ConfigureAwait(false) is { } body)
        {
            await AuthorizeAsync(context, access, body, path == "/api/authrep" ? LimitAction.Count : LimitAction.Peek).ConfigureAwait(false);
        }
    }

    /// <summary>Compares the token's SHA-256 with every configured hash in constant time; read from the live snapshot, so a reload rotates tokens.</summary>
    internal static bool IsAuthorized(HttpRequest request, GatewaySnapshot snapshot)
    {
        var tokens = snapshot.Config.Gateway.ServiceApi?.TokenSha256;
        var header = request.Headers.Authorization;
        if (tokens is not { Count: > 0 } || header.Count != 1)
        {
            return false;
        }

        var text = header.ToString();
        if (text.Length <= 7 || !text.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return false;
        }

        Span<byte> presented = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text[7..].Trim()), presented);
        Span<byte> configured = stackalloc byte[SHA256.HashSizeInBytes];
        var match = false;
        foreach (var hex in tokens)
        {
            // Validated as 64 lower-case hex characters when the config was loaded.
            Convert.FromHexString(hex, configured, out _, out _);
            match |= CryptographicOperations.FixedTimeEquals(presented, configured);
        }

        return match;
    }

    private async Task AuthorizeAsync(HttpContext context, AccessModel access, AuthorizeBody body, LimitAction action)
    {
        if (Resolve(access, body, "$") is { } invalid)
        {
            await InvalidAsync(context, invalid).ConfigureAwait(false);
            return;
        }

        var target = Target(access, body)!;
        var caller = await AuthenticateAsync(access, body.Credential, target.Scopes is not null).ConfigureAwait(false);
        var anonymousKey = AnonymousKey(body);

        // The application's address filters, as the proxy applies them (before anything is counted), for the end client's
        // address when the service names it; without one there is no address to check.
        if (caller.Application is { HasAddressFilters: true } calling && System.Net.IPAddress.TryParse(body.Client, out var address)
            && calling.RefuseAddress(address) is { } refusedBy)
        {
            if (action == LimitAction.Count && telemetry is { RecordsUsage: true })
            {
                telemetry.RecordCalls(calling.Id, calling.Plan.Name, target.UsageOperation, StatusCodes.Status403Forbidden, 1, Observability.UsageRecord.Untimed);
            }

            await WriteJsonAsync(context, new AuthorizeResult(false, "ip_refused", $"Calls from this address are not allowed by {refusedBy}; call from an allowed network.",
                calling.Id, calling.Plan.Name, []), ServiceApiJson.Default.AuthorizeResult).ConfigureAwait(false);
            return;
        }

        var decision = await runtime.Engine.DecideAsync(access, caller, target, IsWrite(target, body), anonymousKey, action).ConfigureAwait(false);
        if (decision.Limits.Set is not null)
        {
            LimitHeaders.Write(context.Response, decision.Limits);
        }

        // A "no" from a limit here is a call the service refuses, as the proxy would have: counted with the proxy's refusals
        // (an authorize as well as an authrep: either answer is what the service acts on).
        if (decision.Verdict == AccessVerdict.Limited && decision.Plan is { } limitedPlan && decision.Limits.Policy is { } policy)
        {
            Observability.GatewayMetrics.Limited(limitedPlan.Name, policy.Per, policy.IsQuota ? Observability.GatewayMetrics.LimitKind.Quota : Observability.GatewayMetrics.LimitKind.Rate,
                Observability.GatewayMetrics.LimitSource.ServiceApi);
        }

        // An authrep is the call's admission: usage records the decision (200 when allowed, the proxy's refusal status
        // otherwise); how the service then answered, and how long it took, only a report can say. A service that says it
        // reports that (reportsOutcome) has its allowed calls recorded from the report, not here, so none counts twice.
        if (action == LimitAction.Count && telemetry is { RecordsUsage: true } && !(decision.IsAllowed && body.ReportsOutcome == true))
        {
            var status = decision.Verdict switch
            {
                AccessVerdict.Allowed => StatusCodes.Status200OK,
                AccessVerdict.Unauthenticated => StatusCodes.Status401Unauthorized,
                AccessVerdict.Forbidden => StatusCodes.Status403Forbidden,
                _ => StatusCodes.Status429TooManyRequests,
            };
            telemetry.RecordCalls(decision.Application?.Id ?? "", decision.Plan?.Name ?? "", target.UsageOperation, status, 1, Observability.UsageRecord.Untimed);
        }

        var result = new AuthorizeResult(
            decision.IsAllowed,
            decision.Reason,
            decision.Detail,
            decision.Application?.Id,
            decision.Plan?.Name,
            LimitStates(decision, decision.Application?.Id ?? anonymousKey, action))
        {
            // What a caller without a bearer token with the operation's scopes should come back with (RFC 6750's challenge).
            Scope = decision.Reason is "insufficient_scope" or "missing_credential" ? target.Scopes?.Text : null,
        };
        await WriteJsonAsync(context, result, ServiceApiJson.Default.AuthorizeResult).ConfigureAwait(false);
    }

    private async Task ReportAsync(HttpContext context, AccessModel access, ReportBody report)
    {
        if (report.Usage is not { } usage)
        {
            await InvalidAsync(context, new Invalid(StatusCodes.Status400BadRequest, "$.usage", "'usage' is required: a list of { credential, operation, hits }.")).ConfigureAwait(false);
            return;
        }

        if (usage.Count > MaxReportEntries)
        {
            await InvalidAsync(context, new Invalid(StatusCodes.Status400BadRequest, "$.usage", $"A report holds at most {MaxReportEntries} entries; this one has {usage.Count}. Send several reports.")).ConfigureAwait(false);
            return;
        }

        var limiter = runtime.Engine.Limiter;
        var now = runtime.Engine.Time.GetUtcNow();
        var accepted = 0;
        var rejected = new List<Rejection>();
        for (var i = 0; i < usage.Count; i++)
        {
            var entry = usage[i];
            if (entry is null)
            {
                rejected.Add(new Rejection(i, "bad_entry"));
                continue;
            }

            if (Resolve(access, entry, $"$.usage[{i}]") is { } invalid)
            {
                rejected.Add(new Rejection(i, invalid.Reason));
                continue;
            }

            var hits = entry.Hits ?? 1;
            if (hits is < 1 or > 1_000_000)
            {
                rejected.Add(new Rejection(i, "bad_hits"));
                continue;
            }

            if (entry.Status is < 100 or > 599)
            {
                rejected.Add(new Rejection(i, "bad_status"));
                continue;
            }

            if (entry.DurationMs is { } duration && !(duration is >= 0 and <= MaxDurationMs))
            {
                rejected.Add(new Rejection(i, "bad_duration"));
                continue;
            }

            var target = Target(access, entry)!;
            var caller = await AuthenticateAsync(access, entry.Credential, target.Scopes is not null).ConfigureAwait(false);
            var (reason, counterKey, limits) = Usage(access, caller, target, IsWrite(target, entry), AnonymousKey(entry));
            if (reason is not null)
            {
                rejected.Add(new Rejection(i, reason));
                continue;
            }

            // Usage already happened: it counts in full, also past a limit (the next authorize then says no); unless an
            // authrep counted it already, and this is its outcome for analytics.
            if (entry.Counted != true)
            {
                limiter.Add(counterKey!, limits!, hits, now);
            }

            if (telemetry is { RecordsUsage: true })
            {
                telemetry.RecordCalls(caller.Application?.Id ?? "", caller.Application?.Plan.Name ?? access.Anonymous?.Name ?? "", target.UsageOperation, entry.Status ?? StatusCodes.Status200OK, hits,
                    entry.DurationMs is { } ms ? (long)Math.Round(ms * 1000) : Observability.UsageRecord.Untimed);
            }
            accepted++;
        }

        await WriteJsonAsync(context, new ReportResult(accepted, rejected), ServiceApiJson.Default.ReportResult).ConfigureAwait(false);
    }

    /// <summary>
    /// Whose counters a reported call goes to, by the same rules as <see cref="AccessEngine.Decide"/> without the
    /// limit step: a call the gateway would have refused for who the caller is, what its token's scopes allow or what
    /// the plan grants is rejected.
    /// </summary>
    private static (string? Reason, string? CounterKey, LimitSet? Limits) Usage(AccessModel access, in Caller caller, AccessTarget target, bool write, string anonymousKey)
    {
        var table = write ? target.Write : target.Read;
        switch (caller.Kind)
        {
            case CallerKind.Invalid:
                return ("invalid_credential", null, null);
            // An anonymous call carries no token, so no scopes, as authorize decides.
            case CallerKind.Anonymous:
                return access.Anonymous is { } anonymous && table[anonymous.Index] is { } anonymousLimits && target.Scopes is null
                    ? (null, anonymousKey, anonymousLimits)
                    : ("missing_credential", null, null);
        }

        // A call its token's scopes did not allow is one authorize and authrep refuse: a service that reports it served
        // it anyway, and counting it would charge the application for a call the gateway says it may not make.
        if (target.Scopes is { } required && required.FirstMissing(caller.Credential == CredentialKind.Bearer ? caller.Scopes : null) is not null)
        {
            return ("insufficient_scope", null, null);
        }

        var app = caller.Application!;
        return app.State switch
        {
            Model.Config.ApplicationState.Pending => ("application_pending", null, null),
            Model.Config.ApplicationState.Suspended => ("application_suspended", null, null),
            _ => table[app.Plan.Index] is { } limits ? (null, app.Id, limits) : ("not_granted", null, null),
        };
    }

    private async ValueTask<Caller> AuthenticateAsync(AccessModel access, CredentialBody? credential, bool scopes = false)
    {
        if (credential?.ApiKey is { } key)
        {
            return runtime.Engine.AuthenticateKey(access, key, CredentialKind.ApiKeyHeader);
        }

        return credential?.Bearer is { } token
            ? await runtime.Engine.AuthenticateBearerAsync(access, token, scopes).ConfigureAwait(false)
            : Caller.Anonymous;
    }

    /// <summary>The operation usage is recorded under: the operation's id, or <c>route:ID</c>, as the proxy records it.</summary>
    /// <summary>What anonymous calls count under: the end client's address, as the proxy counts them.</summary>
    private static string AnonymousKey(TargetBody body) => "client:" + (body.Client ?? "unknown");

    private static bool IsWrite(AccessTarget target, TargetBody body) => target.IsWrite(body.Method ?? HttpMethods.Get);

    private static AccessTarget? Target(AccessModel access, TargetBody body) =>
        body.Operation is { } op ? access.Operations.GetValueOrDefault(op) : access.Routes.GetValueOrDefault(body.Route!);

    /// <summary>The first thing wrong with what <paramref name="body"/> asks about, or null.</summary>
    private static Invalid? Resolve(AccessModel access, TargetBody body, string at)
    {
        if (body.Credential is { ApiKey: not null, Bearer: not null })
        {
            return new Invalid(StatusCodes.Status400BadRequest, at + ".credential", "Give one credential: 'apiKey' or 'bearer', not both.", "bad_entry");
        }

        if (body.Operation is { } operation)
        {
            if (body.Route is not null)
            {
                return new Invalid(StatusCodes.Status400BadRequest, at + ".route", "Give 'operation' or 'route', not both.", "bad_entry");
            }

            return access.Operations.ContainsKey(operation)
                ? null
                : new Invalid(StatusCodes.Status422UnprocessableEntity, at + ".operation", $"No service declares operation '{operation}'; use an id of the config's operations.", "unknown_operation");
        }

        if (body.Route is not { } route)
        {
            return new Invalid(StatusCodes.Status400BadRequest, at + ".operation", "'operation' is required (or 'route' and 'method' for a route bound to no operation).", "bad_entry");
        }

        if (!access.Routes.ContainsKey(route))
        {
            return new Invalid(StatusCodes.Status422UnprocessableEntity, at + ".route", $"No route '{route}' bound to no operation exists; a route bound to an operation is asked about by its 'operation'.", "unknown_route");
        }

        return body.Method is null
            ? new Invalid(StatusCodes.Status400BadRequest, at + ".method", "'method' is required with 'route': it decides read or write access.", "bad_entry")
            : null;
    }

    /// <summary>
    /// Every enforced limit of the decision with what is left. After a peek, "remaining" is what would be left once
    /// this call counted, as the <c>RateLimit</c> header says it.
    /// </summary>
    private List<LimitState> LimitStates(in AccessDecision decision, string counterKey, LimitAction action)
    {
        var states = new List<LimitState>();
        if (decision.Limits.Set is not { } set)
        {
            return states;
        }

        var counters = runtime.Counters;
        var now = runtime.Engine.Time.GetUtcNow();
        var pending = decision.IsAllowed && action == LimitAction.Peek ? 1 : 0;
        foreach (var p in set.Policies)
        {
            if (p.IsShadow)
            {
                continue;
            }

            var remaining = Math.Max(0, p.Requests - counters.Used(counterKey, p, now) - pending);
            var reset = LimitWindows.SecondsUntilEnd(p.Per, LimitWindows.Index(p.Per, now.UtcTicks), now.UtcTicks);
            states.Add(new LimitState(p.Name, p.Requests, remaining, reset));
        }

        return states;
    }

    private static async Task<T?> ReadAsync<T>(HttpContext context, JsonTypeInfo<T> type) where T : class
    {
        T? body;
        try
        {
            body = await JsonSerializer.DeserializeAsync(context.Request.Body, type, context.RequestAborted).ConfigureAwait(false);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await TooLargeAsync(context).ConfigureAwait(false);
            return null;
        }
        catch (JsonException e)
        {
            await InvalidAsync(context, new Invalid(StatusCodes.Status400BadRequest, e.Path ?? "$", JsonProblem(e))).ConfigureAwait(false);
            return null;
        }

        if (body is null)
        {
            await InvalidAsync(context, new Invalid(StatusCodes.Status400BadRequest, "$", "The body must be a JSON object.")).ConfigureAwait(false);
        }

        return body;
    }

    /// <summary>A sentence about a JSON error without .NET type names.</summary>
    private static string JsonProblem(JsonException e)
    {
        if (e.Message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            var start = e.Message.IndexOf('\'', StringComparison.Ordinal);
            var end = start < 0 ? -1 : e.Message.IndexOf('\'', start + 1);
            var name = end > start ? e.Message[(start + 1)..end] : "?";
            return $"Unknown field '{name}'; see /api/openapi.json for the fields of this body.";
        }

        return e.InnerException is null && e.Message.Contains("could not be converted", StringComparison.Ordinal)
            ? "The value has the wrong type for this field (a string, number, object or list is expected as documented in /api/openapi.json)."
            : "The body is not valid JSON here; send a JSON object as documented in /api/openapi.json.";
    }

    private static Task InvalidAsync(HttpContext context, Invalid invalid) =>
        invalid.Status == StatusCodes.Status422UnprocessableEntity
            ? ProblemWriter.WriteAsync(context, invalid.Status, "unknown-operation", "Unknown operation or route", $"{invalid.Field}: {invalid.Message}")
            : ProblemWriter.WriteAsync(context, invalid.Status, "bad-json", "Invalid request body", $"{invalid.Field}: {invalid.Message}");

    private static Task TooLargeAsync(HttpContext context) =>
        ProblemWriter.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, "body-too-large", "Request body too large",
            $"The service API accepts bodies up to {MaxBodyBytes} bytes; send fewer report entries per request.");

    private static Task MethodNotAllowedAsync(HttpContext context, string allow) =>
        ProblemWriter.WriteAsync(context, StatusCodes.Status405MethodNotAllowed, "method-not-allowed", "Method not allowed",
            $"{context.Request.Path} answers {allow}.", headers: [new(HeaderNames.Allow, allow)]);

    private static async Task WriteJsonAsync<T>(HttpContext context, T value, JsonTypeInfo<T> type)
    {
        context.Response.ContentType = "application/json";
        var bytes = JsonSerializer.SerializeToUtf8Bytes(value, type);
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>What is wrong with a request body: its status, the JSON path, a sentence, and the reason code of a report entry.</summary>
    private readonly record struct Invalid(int Status, string Field, string Message, string Reason = "bad_entry");
}
