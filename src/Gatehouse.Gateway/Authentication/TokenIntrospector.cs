using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Gatehouse.Model.Config;
using Microsoft.Extensions.Caching.Memory;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Authentication;

/// <summary>
/// Asks an OAuth2 introspection endpoint (RFC 7662) about opaque bearer tokens. Active tokens are cached (by the
/// token's SHA-256, never the token) until their <c>exp</c>, at most <see cref="IntrospectionConfig.MaxCacheTime"/>,
/// expired ones as long (they cannot become valid), other refusals for <see cref="IntrospectionConfig.InactiveCacheTime"/>
/// (by default not at all), in a bounded cache; a token is asked about
/// once at a time however many requests bring it; when the endpoint is slow or down, cached tokens still work and every other one is refused.
/// Inactive tokens, a wrong <c>aud</c> or <c>iss</c> and a past <c>exp</c> are refused alike.
/// </summary>
internal sealed partial class TokenIntrospector : IDisposable
{
    private readonly HttpClient _http;
    private readonly MemoryCache _cache;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Task<IntrospectedToken?>> _asking = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public TokenIntrospector(IntrospectionConfig config, TimeProvider time, ILogger logger)
    {
        Config = config;
        _time = time;
        _logger = logger;
        _http = new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(2) })
        {
            Timeout = System.Threading.Timeout.InfiniteTimeSpan,
            // An introspection answer is a small JSON object; a larger one is refused (fail closed) before it is buffered.
            MaxResponseContentBufferSize = 64 * 1024,
        };
        _cache = new MemoryCache(new MemoryCacheOptions { SizeLimit = config.CacheSize });
    }

    public IntrospectionConfig Config { get; }

    /// <summary>The token's <c>client_id</c> and <c>scope</c> when it is active and fits; null otherwise.</summary>
    public async ValueTask<IntrospectedToken?> IntrospectAsync(string token)
    {
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
        if (_cache.TryGetValue(key, out (IntrospectedToken? Token, DateTimeOffset Until) cached) && _time.GetUtcNow() < cached.Until)
        {
            return cached.Token;
        }

        // One call per token at a time: the requests that arrive with a new token while it is being asked about (a page's
        // first calls, all at once) wait for that answer instead of each asking the endpoint.
        var mine = new TaskCompletionSource<IntrospectedToken?>(TaskCreationOptions.RunContinuationsAsynchronously);
        var asking = _asking.GetOrAdd(key, mine.Task);
        if (asking == mine.Task)
        {
            try
            {
                mine.SetResult(await AskAsync(token, key).ConfigureAwait(false));
            }
            catch (Exception e)
            {
                // Whoever waits on this call learns how it ended, never waits for ever.
                mine.SetException(e);
            }
            finally
            {
                _asking.TryRemove(new KeyValuePair<string, Task<IntrospectedToken?>>(key, mine.Task));
            }
        }

        return await asking.ConfigureAwait(false);
    }

    private async Task<IntrospectedToken?> AskAsync(string token, string key)
    {
        var now = _time.GetUtcNow();
        using var timeout = new CancellationTokenSource(Config.Timeout, _time);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, Config.Url)
            {
                Content = new FormUrlEncodedContent([new("token", token), new("token_type_hint", "access_token")]),
            };
            request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
            if (Config.Credential is { Value: { Length: > 0 } value } credential)
            {
                request.Headers.TryAddWithoutValidation(credential.Header, value);
            }

            using var response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                LogFailed(_logger, Config.Url, $"status {(int)response.StatusCode}");
                return null;
            }

            var body = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
            using var document = JsonDocument.Parse(body);
            var (answer, until) = Judge(document.RootElement, now);
            Keep(key, answer, until, now);
            return answer;
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException or JsonException or InvalidOperationException)
        {
            // Fail closed: only what was cached before the endpoint failed still works.
            LogFailed(_logger, Config.Url, e.Message);
            return null;
        }
    }

    // The client id and scopes of an answer that fits (null for one that does not), and until when the verdict may be
    // cached: a token past its exp is refused for good (up to maxCacheTime), another refusal for inactiveCacheTime.
    private (IntrospectedToken? Token, DateTimeOffset Until) Judge(JsonElement answer, DateTimeOffset now)
    {
        var refused = (default(IntrospectedToken), now + Config.InactiveCacheTime);
        if (answer.ValueKind != JsonValueKind.Object || !answer.TryGetProperty("active", out var active) || active.ValueKind != JsonValueKind.True
            || !answer.TryGetProperty("client_id", out var clientId) || clientId.ValueKind != JsonValueKind.String || clientId.GetString() is not { Length: > 0 } id)
        {
            return refused;
        }

        var until = now + Config.MaxCacheTime;
        if (answer.TryGetProperty("exp", out var exp))
        {
            if (!exp.TryGetInt64(out var seconds))
            {
                return refused;
            }

            var expires = DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, 253_402_300_799));
            if (expires <= now)
            {
                return (null, now + Config.MaxCacheTime);
            }

            until = expires < until ? expires : until;
        }

        // RFC 7662 section 2.2: a token not to be used before nbf is not valid yet.
        if (answer.TryGetProperty("nbf", out var nbf) && (!nbf.TryGetInt64(out var notBefore) || DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(notBefore, 0, 253_402_300_799)) > now))
        {
            return refused;
        }

        if ((Config.Audience is { } audience && !HasAudience(answer, audience)) || (Config.Issuer is { } issuer && !HasIssuer(answer, issuer)))
        {
            return refused;
        }

        // RFC 7662 §2.2: 'scope' is a space-separated string; any other shape carries no scopes (and fails every requirement).
        var scope = answer.TryGetProperty("scope", out var scopes) && scopes.ValueKind == JsonValueKind.String ? scopes.GetString() : null;
        return (new IntrospectedToken(id, scope), until);
    }

    private static bool HasIssuer(JsonElement answer, string issuer) =>
        answer.TryGetProperty("iss", out var iss) && iss.ValueKind == JsonValueKind.String && iss.ValueEquals(issuer);

    private void Keep(string key, IntrospectedToken? token, DateTimeOffset until, DateTimeOffset now)
    {
        if (until <= now)
        {
            return;
        }

        using var entry = _cache.CreateEntry(key);
        entry.Value = (token, until);
        entry.Size = 1;
        // Relative: MemoryCache reads its own clock; the entry's own Until, checked on every hit, follows TimeProvider.
        entry.AbsoluteExpirationRelativeToNow = until - now;
    }

    private static bool HasAudience(JsonElement answer, string audience)
    {
        if (!answer.TryGetProperty("aud", out var aud))
        {
            return false;
        }

        if (aud.ValueKind == JsonValueKind.String)
        {
            return aud.GetString() == audience;
        }

        return aud.ValueKind == JsonValueKind.Array && aud.EnumerateArray().Any(a => a.ValueKind == JsonValueKind.String && a.GetString() == audience);
    }

    public void Dispose()
    {
        _http.Dispose();
        _cache.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Token introspection at {Url} failed ({Reason}); tokens not already cached are refused")]
    private static partial void LogFailed(ILogger logger, string url, string reason);
}
