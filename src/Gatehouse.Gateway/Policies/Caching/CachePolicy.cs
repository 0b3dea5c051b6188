using System.Globalization;
using System.Text;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Gateway.Problems;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Policies.Caching;

/// <summary>
/// A route's response cache: the key of a request (or why it is not cached), freshness from the route's TTL and the
/// service's <c>Cache-Control</c>, serving hits and stale answers, and keeping new responses.
/// </summary>
internal sealed class CachePolicy(CacheConfig config, string routeId, string fingerprint, ResponseCacheStore store, TimeProvider time)
{
    public const string StatusHeader = "Gatehouse-Cache";

    private static readonly int[] Cacheable = [200, 203, 204, 300, 301, 308, 404, 405, 410, 414, 501];

    // Never kept with a response: the gateway sets them anew for each answer, or they must never be shared.
    private static readonly string[] NotKept = ["X-Request-Id", StatusHeader, "Age", "RateLimit", "RateLimit-Policy", "Content-Length", "Set-Cookie", "Transfer-Encoding", "Connection"];

    private readonly string[]? _query = config.Query is { } q ? [.. q] : null;
    private readonly string[] _headers = [.. config.Headers.Select(h => h.ToLowerInvariant()).Order(StringComparer.Ordinal)];

    // A credential listed in 'headers' is in the key: each value has its own answers, so it is no reason to hold back.
    private readonly bool _authorizationKeyed = config.Headers.Contains(HeaderNames.Authorization, StringComparer.OrdinalIgnoreCase);
    private readonly bool _cookieKeyed = config.Headers.Contains(HeaderNames.Cookie, StringComparer.OrdinalIgnoreCase);

    public ResponseCacheStore Store => store;

    /// <summary>
    /// The failures <c>stale-if-error</c> answers with a stale answer: 500, 502, 503 and 504, as RFC 5861 §4 names them
    /// (the gateway's own answers to an unreachable or slow service are its 502 and 504). Any other status, a 501 or a
    /// 505 among them, says something about the request rather than the service's health, and reaches the client.
    /// </summary>
    public static bool ServedStaleOnError(int status) => status is 500 or 502 or 503 or 504;

    /// <summary>
    /// Finds the request's key and what the cache holds for it. A request that must not share answers (not GET or HEAD,
    /// a body, a query parameter outside <c>query</c>, a plan with <c>cache: false</c>, a credential the key cannot tell
    /// apart on a route that is not <c>shared</c>) is a <c>bypass</c>.
    /// </summary>
    public async ValueTask<CacheLookup> LookupAsync(PolicyExchange exchange, bool fromTrustedProxy)
    {
        var context = exchange.Context;
        var request = context.Request;
        var admission = exchange.Admission;
        if (!(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method))
            || request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0
            || admission.Plan is { Cache: false })
        {
            return CacheLookup.Bypass;
        }

        // The key tells callers apart by the application the gateway identified (per application, not shared). Any other
        // key holds callers the gateway cannot tell apart (anonymous ones, every application of a plan, everyone), and the
        // service may still tell them apart by a cookie or an Authorization header it is sent: their answers are never
        // reused unless the route is shared and the service marked the answer for shared caches (RFC 9111 §3.5).
        var sharedOnly = (config.Shared || config.Per == CacheScope.Plan || admission.Application is null)
            && CarriesCredential(request.Headers, admission.StripHeader);
        if (sharedOnly && !config.Shared)
        {
            return CacheLookup.Bypass;
        }

        var sb = new StringBuilder(128);
        CacheKeys.Part(sb, routeId);
        CacheKeys.Part(sb, fingerprint);
        CacheKeys.Part(sb, request.Path.Value);
        CacheKeys.Part(sb, request.Host.Value?.ToLowerInvariant());
        if (fromTrustedProxy)
        {
            // The service builds links with them; from a trusted proxy they are forwarded, so they are keyed.
            CacheKeys.Part(sb, request.Headers["X-Forwarded-Host"].ToString());
            CacheKeys.Part(sb, request.Headers["X-Forwarded-Proto"].ToString());
        }

        if (_query is null)
        {
            CacheKeys.Part(sb, request.QueryString.Value);
        }
        else
        {
            foreach (var name in request.Query.Keys)
            {
                if (Array.IndexOf(_query, name) < 0)
                {
                    return CacheLookup.Bypass;
                }
            }

            foreach (var name in _query)
            {
                var values = request.Query[name];
                sb.Append(values.Count).Append('#');
                foreach (var v in values)
                {
                    CacheKeys.Part(sb, v);
                }
            }
        }

        foreach (var name in _headers)
        {
            AppendHeader(sb, request.Headers, name);
        }

        CacheKeys.Part(sb, config.Shared ? "" : config.Per == CacheScope.Plan
            ? exchange.Admission.Plan?.Name ?? "~none"
            : exchange.Admission.Application?.Id ?? "~anonymous");

        var key = sb.ToString();
        var entryKey = key;
        var found = await store.GetAsync(key).ConfigureAwait(false);
        if (found?.VaryNames is { } vary)
        {
            entryKey = VariantKey(key, vary, request.Headers);
            found = await store.GetAsync(entryKey).ConfigureAwait(false);
        }

        return new CacheLookup(entryKey, key, sharedOnly && found is { Shareable: false } ? null : found, sharedOnly);
    }

    /// <summary>
    /// Whether the request carries a credential the service may answer by and the key does not hold: a cookie, or an
    /// Authorization header that the gateway did not take as the caller's credential and keep from the service.
    /// </summary>
    private bool CarriesCredential(IHeaderDictionary headers, string? keptFromService) =>
        (headers.Cookie.Count > 0 && !_cookieKeyed)
        || (headers.Authorization.Count > 0 && !_authorizationKeyed && !string.Equals(keptFromService, HeaderNames.Authorization, StringComparison.OrdinalIgnoreCase));

    /// <summary>What to do with what the lookup found, for a request with <paramref name="requestHeaders"/>, at <paramref name="now"/>.</summary>
    public CacheAction Decide(in CacheLookup lookup, IHeaderDictionary requestHeaders, DateTimeOffset now)
    {
        if (lookup.Found is not { } entry)
        {
            return CacheAction.Miss;
        }

        if (config.ClientCacheControl && WantsFresher(requestHeaders, entry, now))
        {
            return CacheAction.Miss; // the service's answer replaces the held one, for everyone
        }

        if (now < entry.FreshUntil)
        {
            return CacheAction.Hit;
        }

        if (now < entry.RevalidateUntil && !store.TryBeginRefresh(lookup.Key!))
        {
            return CacheAction.ServeStale;
        }

        return now < entry.RevalidateUntil ? CacheAction.Refresh : CacheAction.Miss;
    }

    /// <summary>Whether the request's Cache-Control says <c>only-if-cached</c>; read only on a route with a cache.</summary>
    public static bool OnlyIfCached(IHeaderDictionary requestHeaders) =>
        requestHeaders.CacheControl.Count > 0 && CacheDirectives.Parse(requestHeaders.CacheControl).OnlyIfCached;

    /// <summary>
    /// The answer to an <c>only-if-cached</c> request the cache holds nothing usable for: 504, as RFC 9111 §5.2.1.7 asks,
    /// without going to the service. <c>Gatehouse-Cache: miss</c> tells it from the service's or the gateway's own 504s.
    /// </summary>
    public Task AnswerNotCachedAsync(PolicyExchange exchange) =>
        ProblemWriter.WriteAsync(exchange.Context, StatusCodes.Status504GatewayTimeout, "not-cached", "Not in the cache",
            $"The request says Cache-Control: only-if-cached, and the cache of route '{routeId}' holds no answer it may serve for it; send it without only-if-cached to reach the service.",
            exchange.RequestId, [new(StatusHeader, "miss")]);

    /// <summary>
    /// <c>clientCacheControl</c>: whether the request's own directives refuse <paramref name="entry"/>: <c>no-cache</c>
    /// (or, without Cache-Control, <c>Pragma: no-cache</c>, RFC 9111 §5.4), <c>max-age</c> younger than the entry, or
    /// <c>min-fresh</c> longer than it stays fresh (§5.2.1).
    /// </summary>
    private static bool WantsFresher(IHeaderDictionary headers, CachedResponse entry, DateTimeOffset now)
    {
        if (headers.CacheControl.Count == 0)
        {
            foreach (var pragma in headers.Pragma)
            {
                if (pragma?.Contains("no-cache", StringComparison.OrdinalIgnoreCase) == true)
                {
                    return true;
                }
            }

            return false;
        }

        var cc = CacheDirectives.Parse(headers.CacheControl);
        return cc.NoCache
            || (cc.MaxAge is { } maxAge && now - entry.Born > maxAge)
            || (cc.MinFresh is { } minFresh && entry.FreshUntil - now < minFresh);
    }

    /// <summary>
    /// Answers from <paramref name="entry"/>: its status, headers and body, the response transform's header values taken
    /// from this request, <c>Age</c> and <c>Gatehouse-Cache</c>.
    /// </summary>
    public Task ServeAsync(PolicyExchange exchange, CachedResponse entry, string outcome)
    {
        var context = exchange.Context;
        var response = context.Response;
        response.StatusCode = entry.Status;
        var headers = response.Headers;
        foreach (var (name, value) in entry.Headers)
        {
            headers[name] = value;
        }

        exchange.Policies.ResponseTransform?.ApplyRequestValues(response, exchange);
        var age = Math.Max(0, (long)(time.GetUtcNow() - entry.Born).TotalSeconds);
        headers.Age = age.ToString(CultureInfo.InvariantCulture);
        headers[StatusHeader] = outcome;
        headers["X-Request-Id"] = exchange.RequestId;
        LimitHeaders.Write(response, exchange.Admission.Limits);
        response.ContentLength = entry.Body.Length;
        return HttpMethods.IsHead(context.Request.Method) || entry.Body.Length == 0
            ? Task.CompletedTask
            : response.Body.WriteAsync(entry.Body, context.RequestAborted).AsTask();
    }

    /// <summary>
    /// When the service's response headers are in (after the response transforms, before their values taken from the
    /// request): whether the response to <paramref name="lookup"/>'s request may be kept, and until when. Null when it may
    /// not. The gateway is a shared cache that never revalidates with a conditional request, so RFC 9111 is read
    /// accordingly: what would need revalidation before reuse is not kept, or is not served once stale.
    /// </summary>
    public PendingEntry? Judge(HttpContext context, in CacheLookup lookup, DateTimeOffset now)
    {
        var response = context.Response;
        var headers = response.Headers;
        var request = context.Request;
        if (Array.IndexOf(Cacheable, response.StatusCode) < 0 || !HttpMethods.IsGet(request.Method))
        {
            return null;
        }

        // A request's no-store forbids keeping its answer whatever the route says (RFC 9111 §5.2.1.5); it is no way to
        // reach the service, so it needs no setting.
        if (request.Headers.CacheControl.Count > 0 && CacheDirectives.Parse(request.Headers.CacheControl).NoStore)
        {
            return null;
        }

        var cc = CacheDirectives.Parse(headers.CacheControl);

        // no-cache without field names: reusable only once revalidated, which this cache does not do (§5.2.2.4).
        if (cc.NoStore || cc.NoCache || cc.Private)
        {
            return null;
        }

        // no-cache="F" and private="F": the rest may be reused by a shared cache, the named fields never (§5.2.2.4, §5.2.2.7).
        var withheld = cc.NoCacheFields is null && cc.PrivateFields is null
            ? null
            : new HashSet<string>([.. cc.NoCacheFields ?? [], .. cc.PrivateFields ?? []], StringComparer.OrdinalIgnoreCase);

        // A cookie is one client's alone: an answer that sets one is kept only when the service said its Set-Cookie is
        // not to be reused, and then without it.
        if (headers.SetCookie.Count > 0 && withheld?.Contains(HeaderNames.SetCookie) != true)
        {
            return null;
        }

        var shareable = cc.Public || cc.SharedMaxAge is not null || cc.MustRevalidate;
        if (lookup.SharedOnly && !shareable)
        {
            return null;
        }

        // The service's freshness shortens the route's TTL, never lengthens it: s-maxage, else max-age, else Expires less
        // Date (§4.2.1).
        var lifetime = config.Ttl;
        if ((cc.SharedMaxAge ?? cc.MaxAge ?? ExpiresLifetime(headers, now)) is { } upstream && upstream < lifetime)
        {
            lifetime = upstream;
        }

        // The age the answer already had upstream (§4.2.3): it goes stale that much sooner here. A list counts by its
        // first member and an invalid value is ignored (§5.1).
        var age = TimeSpan.Zero;
        if (headers.Age.Count > 0
            && long.TryParse((headers.Age[0] ?? "").Split(',')[0].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            age = TimeSpan.FromSeconds(Math.Min(seconds, 86_400L * 365));
        }

        if (lifetime - age <= TimeSpan.Zero)
        {
            return null;
        }

        var vary = VaryNames(headers);
        if (vary is null)
        {
            return null; // Vary: *
        }

        var kept = new List<KeyValuePair<string, StringValues>>(headers.Count);
        foreach (var header in headers)
        {
            if (!NotKept.Contains(header.Key, StringComparer.OrdinalIgnoreCase) && withheld?.Contains(header.Key) != true)
            {
                kept.Add(header);
            }
        }

        var born = now - age;
        var fresh = born + lifetime;

        // Stale answers: the service's stale-while-revalidate and stale-if-error when it sent them (RFC 5861), the route's
        // otherwise; none at all when it said a shared cache must revalidate (§4.2.4: the client then gets the error).
        var (whileRevalidate, ifError) = cc.NoStaleForSharedCache
            ? (TimeSpan.Zero, TimeSpan.Zero)
            : (cc.StaleWhileRevalidate ?? config.StaleWhileRevalidate, cc.StaleIfError ?? config.StaleIfError);

        // From the key without Vary's headers: the rule goes there, the answer under the headers this answer names.
        var key = lookup.BaseKey!;
        return new PendingEntry(
            vary.Length == 0 ? key : VariantKey(key, vary, request.Headers),
            vary.Length == 0 ? null : key,
            vary,
            new CachedResponse
            {
                Status = response.StatusCode,
                Headers = [.. kept],
                Born = born,
                FreshUntil = fresh,
                RevalidateUntil = fresh + whileRevalidate,
                ErrorUntil = fresh + ifError,
                Shareable = shareable,
            });
    }

    /// <summary>
    /// Expires less Date (the gateway's clock when the service sent no valid Date); zero for an Expires that is not a
    /// date, such as <c>0</c>, which means already expired (RFC 9111 §5.3). Null without Expires.
    /// </summary>
    private static TimeSpan? ExpiresLifetime(IHeaderDictionary headers, DateTimeOffset now)
    {
        if (headers.Expires.Count == 0)
        {
            return null;
        }

        if (!HeaderUtilities.TryParseDate(headers.Expires[0], out var expires))
        {
            return TimeSpan.Zero;
        }

        var date = headers.Date.Count > 0 && HeaderUtilities.TryParseDate(headers.Date[0], out var sent) ? sent : now;
        return expires > date ? expires - date : TimeSpan.Zero;
    }

    /// <summary>Keeps the judged response with its body.</summary>
    public void Keep(PendingEntry pending, ReadOnlyMemory<byte> body)
    {
        var now = time.GetUtcNow();
        var entry = pending.Entry;
        var complete = new CachedResponse
        {
            Status = entry.Status,
            Headers = entry.Headers,
            Body = body.ToArray(),
            Born = entry.Born,
            FreshUntil = entry.FreshUntil,
            RevalidateUntil = entry.RevalidateUntil,
            ErrorUntil = entry.ErrorUntil,
            Shareable = entry.Shareable,
        };
        if (pending.RuleKey is { } ruleKey)
        {
            store.Set(routeId, ruleKey, new CachedResponse { VaryNames = pending.Vary, FreshUntil = entry.FreshUntil, RevalidateUntil = entry.RevalidateUntil, ErrorUntil = entry.ErrorUntil }, now);
        }

        store.Set(routeId, pending.Key, complete, now);
    }

    /// <summary>Drops this route's answers of request path <paramref name="path"/> after an unsafe request changed it (<see cref="CacheInvalidation"/>).</summary>
    public ValueTask InvalidateAsync(string path) => store.InvalidateAsync(routeId, path);

    /// <summary>Largest body kept.</summary>
    public long MaxEntrySize => store.Config.MaxEntrySize;

    /// <summary><c>collapse</c>: how long a miss waits for the same key's fetch in flight; zero when misses do not wait.</summary>
    public TimeSpan Collapse => config.Collapse;

    public DateTimeOffset Now => time.GetUtcNow();

    /// <summary>The request headers the response varies on, lower-case and sorted; empty for none, null for <c>*</c>.</summary>
    private static string[]? VaryNames(IHeaderDictionary headers)
    {
        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var value in headers.Vary)
        {
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
            {
                if (part == "*")
                {
                    return null;
                }

                names.Add(part.ToLowerInvariant());
            }
        }

        // A compressed body is only for clients that accept that coding, whether or not the service said so.
        if (headers.ContentEncoding.Count > 0 && !string.Equals(headers.ContentEncoding.ToString(), "identity", StringComparison.OrdinalIgnoreCase))
        {
            names.Add("accept-encoding");
        }

        return [.. names];
    }

    private static string VariantKey(string key, string[] names, IHeaderDictionary headers)
    {
        var sb = new StringBuilder(key).Append("|vary");
        foreach (var name in names)
        {
            AppendHeader(sb, headers, name);
        }

        return sb.ToString();
    }

    private static void AppendHeader(StringBuilder sb, IHeaderDictionary headers, string name)
    {
        var values = headers[name];
        CacheKeys.Part(sb, name);
        sb.Append(values.Count).Append('#');
        foreach (var v in values)
        {
            CacheKeys.Part(sb, v);
        }
    }
}

/// <summary>
/// A request's cache key (null for a bypass) and what the cache held for it. <see cref="Key"/> is the entry's key (with
/// the headers the service's Vary names, when it had said Vary); <see cref="BaseKey"/> the key without them, under which a
/// new answer's Vary rule is kept. <see cref="SharedOnly"/>: the request carries a credential the key does not hold, so
/// only an answer the service marked for shared caches is served to it (<see cref="Found"/> is null otherwise) or kept.
/// </summary>
internal readonly record struct CacheLookup(string? Key, string? BaseKey, CachedResponse? Found, bool SharedOnly)
{
    public static CacheLookup Bypass => default;
}

/// <summary>What the cache step does with a request.</summary>
internal enum CacheAction
{
    /// <summary>Nothing fresh: forward, and keep the answer if it may be kept.</summary>
    Miss,
    /// <summary>Fresh: answer from the cache.</summary>
    Hit,
    /// <summary>Stale, and another request is fetching a fresh one: answer stale.</summary>
    ServeStale,
    /// <summary>Stale, and this request fetches the fresh one (the others get the stale one meanwhile).</summary>
    Refresh,
}

/// <summary>A response judged keepable, waiting for its body.</summary>
internal sealed record PendingEntry(string Key, string? RuleKey, string[] Vary, CachedResponse Entry);
