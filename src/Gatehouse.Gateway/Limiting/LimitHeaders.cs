using System.Globalization;
using Gatehouse.Gateway.Problems;
using Microsoft.AspNetCore.Http;
using Gatehouse.Model.Text;

namespace Gatehouse.Gateway.Limiting;

/// <summary>
/// The <c>RateLimit-Policy</c> and <c>RateLimit</c> response fields of draft-ietf-httpapi-ratelimit-headers-10,
/// and the 429 problem. <c>RateLimit-Policy</c> lists every enforced limit (<c>"minute";q=100;w=60, "day";q=10000;w=86400</c>);
/// <c>RateLimit</c> reports the one closest to running out (<c>"minute";r=3;t=42</c>: 3 requests left, window ends in 42 s).
/// </summary>
internal static class LimitHeaders
{
    public const string PolicyField = "RateLimit-Policy";
    public const string RateLimitField = "RateLimit";

    /// <summary>Problem type slug for a full per-second or per-minute limit.</summary>
    public const string RateLimitedSlug = "rate-limited";

    /// <summary>Problem type slug for a used-up hour, day or month quota.</summary>
    public const string QuotaExceededSlug = "quota-exceeded";

    /// <summary>Sets both fields on <paramref name="response"/>; nothing when no limit is enforced.</summary>
    public static void Write(HttpResponse response, in LimitDecision decision)
    {
        if (decision.Policy is null || decision.Set.PolicyHeader is null)
        {
            return;
        }

        response.Headers[PolicyField] = decision.Set.PolicyHeader;
        response.Headers[RateLimitField] = RateLimitValue(decision);
    }

    /// <summary>The <c>RateLimit</c> field value, e.g. <c>"minute";r=3;t=42</c>.</summary>
    public static string RateLimitValue(in LimitDecision decision) => decision.Fallback is { } fallback
        ? string.Create(CultureInfo.InvariantCulture, $"{decision.Policy!.QuotedName};r={decision.Remaining};t={decision.ResetSeconds};fallback={FallbackToken(fallback)}")
        : string.Create(CultureInfo.InvariantCulture, $"{decision.Policy!.QuotedName};r={decision.Remaining};t={decision.ResetSeconds}");

    /// <summary>
    /// The <c>fallback</c> parameter's token: a cluster limit decided by its <c>onEngineDown</c> because the counter engine
    /// was unreachable (the draft lets a field carry parameters it does not define; clients ignore them).
    /// </summary>
    public static string FallbackToken(Model.Config.EngineDownAction action) => action switch
    {
        Model.Config.EngineDownAction.Share => "share",
        Model.Config.EngineDownAction.Allow => "allow",
        _ => "deny",
    };

    /// <summary>Answers a denied request: 429 problem+json with <c>Retry-After</c> and both RateLimit fields.</summary>
    public static Task WriteProblemAsync(HttpContext context, LimitDecision decision, string? requestId = null)
    {
        var policy = decision.Policy ?? throw new ArgumentException("a denied decision names the limit that denied it.", nameof(decision));
        var per = Model.Loading.Units.CamelCase(policy.Per.ToString());
        var retry = decision.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        KeyValuePair<string, string>[] headers =
        [
            new("Retry-After", retry),
            new(PolicyField, decision.Set.PolicyHeader!),
            new(RateLimitField, RateLimitValue(decision)),
        ];

        return policy.IsQuota
            ? ProblemWriter.WriteAsync(context, StatusCodes.Status429TooManyRequests, QuotaExceededSlug, "Quota exceeded",
                $"This application's quota of {Plural.Count(policy.Requests, "request")} per {per} is used up; it renews in {Plural.Count(decision.RetryAfterSeconds, "second")} (Retry-After). A plan with a larger quota raises it.",
                requestId, headers)
            : ProblemWriter.WriteAsync(context, StatusCodes.Status429TooManyRequests, RateLimitedSlug, "Rate limit exceeded",
                $"This application may make {Plural.Count(policy.Requests, "request")} per {per}; wait {Plural.Count(decision.RetryAfterSeconds, "second")} (Retry-After) and pace requests by the RateLimit header.",
                requestId, headers);
    }
}
