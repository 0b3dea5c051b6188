using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Client;

/// <summary>
/// Asks the gateway about each request with <c>/api/authrep</c>, which decides and counts in one round-trip, so
/// without a cache every call is counted exactly once and atomically with its check (authorize followed by a later
/// report would let concurrent calls all pass a limit with one unit left). With <see cref="GatehouseAuthorizationOptions.CacheDuration"/>,
/// allowed decisions are reused and the calls they cover are reported in batches.
/// </summary>
internal sealed class GatehouseAuthorizationMiddleware(RequestDelegate next, GatehouseAuthorizationOptions options, ServiceApiClient api, UsageReporter reporter)
{
    private readonly DecisionCache _cache = new(options.TimeProvider);
    private readonly Func<HttpContext, string?> _resolve = options.OperationResolver!;
    private readonly string _challenge = $"ApiKey header=\"{options.ApiKeyHeader}\", Bearer";

    // Turned off for good when the gateway is too old to take reportsOutcome (it answers 400 naming the field).
    private volatile bool _outcomes = options.ReportOutcomes;

    public Task InvokeAsync(HttpContext context)
    {
        // The fast path: a request that is no operation costs nothing.
        return _resolve(context) is { } operation ? AuthorizeAsync(context, operation) : next(context);
    }

    private async Task AuthorizeAsync(HttpContext context, string operation)
    {
        var credential = ReadCredential(context.Request);
        var client = context.Connection.RemoteIpAddress?.ToString();
        var cacheKey = options.CacheDuration > TimeSpan.Zero ? CacheKey(credential, client, operation) : null;
        if (cacheKey is not null && _cache.TryTake(cacheKey, out var cached))
        {
            context.Features.Set<IGatehouseFeature>(cached.Feature);
            if (!_outcomes)
            {
                reporter.Add(credential, operation, client);
                await next(context).ConfigureAwait(false);
                return;
            }

            // Counted when its report arrives, with what the service answered and how long it took.
            await TimedAsync(context, credential, operation, client, counted: false).ConfigureAwait(false);
            return;
        }

        Decision decision;
        string? policy, rateLimit;
        try
        {
            // Calls served from the cache are counted before this decision, so it sees them (outcomes of calls already
            // counted wait for the report interval: they change no decision).
            if (reporter.HasUncounted)
            {
                await reporter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }

            (decision, policy, rateLimit) = await AuthrepAsync(credential, operation, client, context.RequestAborted).ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            if (options.FailOpen)
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            await WriteProblemAsync(context, StatusCodes.Status503ServiceUnavailable, "gatehouse-unavailable", "Authorization unavailable",
                "The service cannot check this request with its gateway right now; try again shortly.").ConfigureAwait(false);
            return;
        }

        if (policy is not null && rateLimit is not null)
        {
            context.Response.Headers["RateLimit-Policy"] = policy;
            context.Response.Headers["RateLimit"] = rateLimit;
        }

        if (!decision.Allowed)
        {
            await RefuseAsync(context, decision).ConfigureAwait(false);
            return;
        }

        var feature = new GatehouseFeature(operation, decision.Application, decision.Plan);
        if (cacheKey is not null)
        {
            // The budget is what the tightest limit had left: the cache never serves more calls than the gateway would.
            var budget = decision.Limits is { Count: > 0 } limits ? limits.Min(l => l.Remaining) : long.MaxValue;
            _cache.Set(cacheKey, feature, budget, options.CacheDuration);
        }

        context.Features.Set<IGatehouseFeature>(feature);
        if (decision.OutcomeReported)
        {
            await TimedAsync(context, credential, operation, client, counted: true).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    // The authrep, saying the outcome will be reported when it will; a gateway too old for that field answers 400
    // naming it, and the middleware then asks without it, from now on.
    private async Task<(Decision Decision, string? Policy, string? RateLimit)> AuthrepAsync(CredentialBody credential, string operation, string? client, CancellationToken cancellationToken)
    {
        if (!_outcomes)
        {
            return await api.AuthrepAsync(new AuthrepBody(credential, operation, client), cancellationToken).ConfigureAwait(false);
        }

        try
        {
            var (decision, policy, rateLimit) = await api.AuthrepAsync(new AuthrepBody(credential, operation, client, ReportsOutcome: true), cancellationToken).ConfigureAwait(false);
            return (decision with { OutcomeReported = true }, policy, rateLimit);
        }
        catch (HttpRequestException e) when (e.StatusCode == System.Net.HttpStatusCode.BadRequest && e.Message.Contains("reportsOutcome", StringComparison.Ordinal))
        {
            _outcomes = false;
            return await api.AuthrepAsync(new AuthrepBody(credential, operation, client), cancellationToken).ConfigureAwait(false);
        }
    }

    // Runs the service and reports what it answered and how long it took (an exception before the answer began is the
    // 500 ASP.NET Core will send).
    private async Task TimedAsync(HttpContext context, CredentialBody credential, string operation, string? client, bool counted)
    {
        var start = System.Diagnostics.Stopwatch.GetTimestamp();
        var failed = false;
        try
        {
            await next(context).ConfigureAwait(false);
        }
        catch
        {
            failed = true;
            throw;
        }
        finally
        {
            var status = failed && !context.Response.HasStarted ? StatusCodes.Status500InternalServerError : context.Response.StatusCode;
            reporter.AddOutcome(credential, operation, client, status, System.Diagnostics.Stopwatch.GetElapsedTime(start).TotalMilliseconds, counted);
        }
    }

    private CredentialBody ReadCredential(HttpRequest request)
    {
        var key = request.Headers[options.ApiKeyHeader];
        if (key.Count > 0)
        {
            // Two keys cannot be told apart; send something that matches no key, as the proxy refuses them.
            return new CredentialBody(key.Count == 1 ? key.ToString() : "", null);
        }

        var authorization = request.Headers.Authorization.ToString();
        return authorization.Length > 7 && authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? new CredentialBody(null, authorization[7..].Trim())
            : new CredentialBody(null, null);
    }

    /// <summary>The cache never holds a credential itself, only its hash.</summary>
    private static string CacheKey(CredentialBody credential, string? client, string operation)
    {
        var who = credential.ApiKey is { } key ? "k:" + key : credential.Bearer is { } token ? "b:" + token : "a:" + client;
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(who))) + "\n" + operation;
    }

    private Task RefuseAsync(HttpContext context, Decision decision)
    {
        var detail = decision.Detail ?? "The gateway refused this request.";
        switch (decision.Reason)
        {
            case "missing_credential" or "invalid_credential":
                // An operation that requires scopes asks for a bearer token with them, as the gateway's own 401 does.
                context.Response.Headers.WWWAuthenticate = decision.Reason == "missing_credential" && decision.Scope is { } wanted ? $"Bearer scope=\"{wanted}\"" : _challenge;
                return WriteProblemAsync(context, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized", detail);
            case "insufficient_scope":
                // RFC 6750 §3.1; scope tokens have no '"' or '\' (the gateway validates them), so they need no escaping.
                context.Response.Headers.WWWAuthenticate = decision.Scope is { } scope ? $"Bearer error=\"insufficient_scope\", scope=\"{scope}\"" : "Bearer error=\"insufficient_scope\"";
                return WriteProblemAsync(context, StatusCodes.Status403Forbidden, "insufficient-scope", "Insufficient scope", detail);
            case "rate_limited" or "quota_exceeded":
                var retry = decision.Limits?.Where(l => l.Remaining == 0).Select(l => l.Reset).DefaultIfEmpty(1).Max() ?? 1;
                context.Response.Headers.RetryAfter = retry.ToString(CultureInfo.InvariantCulture);
                return WriteProblemAsync(context, StatusCodes.Status429TooManyRequests, decision.Reason == "rate_limited" ? "rate-limited" : "quota-exceeded",
                    decision.Reason == "rate_limited" ? "Rate limit exceeded" : "Quota exceeded", detail);
            default:
                return WriteProblemAsync(context, StatusCodes.Status403Forbidden, "forbidden", "Forbidden", detail);
        }
    }

    /// <summary>RFC 9457 problem+json with the same type URIs as the gateway's own answers.</summary>
    private static async Task WriteProblemAsync(HttpContext context, int status, string slug, string title, string detail)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/problem+json";
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("type", "urn:gatehouse:problem:" + slug);
            json.WriteString("title", title);
            json.WriteNumber("status", status);
            json.WriteString("detail", detail);
            json.WriteString("instance", context.Request.Path.Value);
            json.WriteEndObject();
        }

        response.ContentLength = buffer.WrittenCount;
        await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
    }
}
