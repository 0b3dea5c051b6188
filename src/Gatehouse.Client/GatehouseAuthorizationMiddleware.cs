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
            reporter.Add(credential, operation, client);
            context.Features.Set<IGatehouseFeature>(cached.Feature);
            await next(context).ConfigureAwait(false);
            return;
        }

        Decision decision;
        string? policy, rateLimit;
        try
        {
            // Calls served from the cache are counted before this decision, so it sees them.
            if (reporter.HasPending)
            {
                await reporter.FlushAsync(context.RequestAborted).ConfigureAwait(false);
            }

            (decision, policy, rateLimit) = await api.AuthrepAsync(new AuthrepBody(credential, operation, client), context.RequestAborted).ConfigureAwait(false);
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
        await next(context).ConfigureAwait(false);
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
                context.Response.Headers.WWWAuthenticate = _challenge;
                return WriteProblemAsync(context, StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized", detail);
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
