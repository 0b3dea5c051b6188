using System.Text;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.Gateway.Policies.Caching;

/// <summary>
/// The <c>Cache-Control</c> directives the cache acts on (RFC 9111 §5.2, RFC 5861 §3 and §4), read from a request's or a
/// response's field lines. Read here rather than with <c>CacheControlHeaderValue</c> because the cache needs what that
/// type does not give: each directive read on its own (one invalid value must not hide a <c>no-store</c> beside it; an
/// invalid freshness value reads as stale, as RFC 9111 §4.2.1 encourages), the field names of a qualified
/// <c>no-cache</c> or <c>private</c> as written, and the RFC 5861 windows.
/// Made only on a route with a cache, and only for a response being judged or a request that sent the field.
/// </summary>
internal sealed class CacheDirectives
{
    // RFC 9111 §1.2.2: a delta-seconds too large to hold is read as 2^31.
    private const long MaxDeltaSeconds = 2_147_483_648L;

    public bool NoStore { get; private set; }

    /// <summary>An unqualified <c>no-cache</c> (or one naming no field): never reused without going to the service.</summary>
    public bool NoCache { get; private set; }

    /// <summary>The fields of a qualified <c>no-cache="..."</c>: the rest may be reused, those fields may not.</summary>
    public List<string>? NoCacheFields { get; private set; }

    /// <summary>An unqualified <c>private</c>: a shared cache keeps nothing of it.</summary>
    public bool Private { get; private set; }

    /// <summary>The fields of a qualified <c>private="..."</c>: a shared cache keeps the rest, never those fields.</summary>
    public List<string>? PrivateFields { get; private set; }

    public bool Public { get; private set; }

    public bool MustRevalidate { get; private set; }

    public bool ProxyRevalidate { get; private set; }

    public bool OnlyIfCached { get; private set; }

    public TimeSpan? MaxAge { get; private set; }

    public TimeSpan? SharedMaxAge { get; private set; }

    public TimeSpan? MinFresh { get; private set; }

    public TimeSpan? StaleWhileRevalidate { get; private set; }

    public TimeSpan? StaleIfError { get; private set; }

    /// <summary>
    /// A shared cache may not serve it stale: <c>must-revalidate</c>, <c>proxy-revalidate</c>, or <c>s-maxage</c>, which
    /// carries proxy-revalidate's meaning for shared caches (RFC 9111 §5.2.2.2, §5.2.2.8, §5.2.2.10).
    /// </summary>
    public bool NoStaleForSharedCache => MustRevalidate || ProxyRevalidate || SharedMaxAge is not null;

    public static CacheDirectives Parse(StringValues lines)
    {
        var directives = new CacheDirectives();
        foreach (var line in lines)
        {
            if (!string.IsNullOrEmpty(line))
            {
                directives.Read(line);
            }
        }

        return directives;
    }

    private void Read(string line)
    {
        var i = 0;
        while (i < line.Length)
        {
            while (i < line.Length && line[i] is ',' or ' ' or '\t')
            {
                i++;
            }

            var start = i;
            while (i < line.Length && line[i] is not (',' or '=' or ' ' or '\t'))
            {
                i++;
            }

            if (i == start)
            {
                i++; // a stray character; the loop above skips what follows up to the next directive
                continue;
            }

            var name = line[start..i];
            SkipSpace(line, ref i);
            string? value = null;
            if (i < line.Length && line[i] == '=')
            {
                i++;
                SkipSpace(line, ref i);
                value = i < line.Length && line[i] == '"' ? QuotedString(line, ref i) : Token(line, ref i);
            }

            // Anything else before the next comma makes no directive of its own.
            while (i < line.Length && line[i] != ',')
            {
                i++;
            }

            Apply(name, value);
        }
    }

    private void Apply(string name, string? value)
    {
        switch (name.ToLowerInvariant())
        {
            case "no-store":
                NoStore = true;
                break;
            case "no-cache":
                if (Fields(value) is { } noCacheFields)
                {
                    (NoCacheFields ??= []).AddRange(noCacheFields);
                }
                else
                {
                    NoCache = true;
                }

                break;
            case "private":
                if (Fields(value) is { } privateFields)
                {
                    (PrivateFields ??= []).AddRange(privateFields);
                }
                else
                {
                    Private = true;
                }

                break;
            case "public":
                Public = true;
                break;
            case "must-revalidate":
                MustRevalidate = true;
                break;
            case "proxy-revalidate":
                ProxyRevalidate = true;
                break;
            case "only-if-cached":
                OnlyIfCached = true;
                break;
            case "max-age":
                MaxAge = Smallest(MaxAge, Seconds(value));
                break;
            case "s-maxage":
                SharedMaxAge = Smallest(SharedMaxAge, Seconds(value));
                break;
            case "min-fresh":
                MinFresh = Smallest(MinFresh, Seconds(value));
                break;
            case "stale-while-revalidate":
                StaleWhileRevalidate = Smallest(StaleWhileRevalidate, Seconds(value));
                break;
            case "stale-if-error":
                StaleIfError = Smallest(StaleIfError, Seconds(value));
                break;
        }
    }

    /// <summary>The field names of a qualified directive; null when it names none (read as the unqualified directive).</summary>
    private static string[]? Fields(string? value)
    {
        var names = value?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        return names is { Length: > 0 } ? names : null;
    }

    // A repeated directive counts at its smallest: RFC 9111 §4.2.1 lets a cache take the first or treat the answer as
    // stale, and the smallest is never longer than either.
    private static TimeSpan? Smallest(TimeSpan? had, TimeSpan now) => had is { } before && before < now ? before : now;

    // A value that is not delta-seconds reads as 0: a max-age or s-maxage makes the answer stale (RFC 9111 §4.2.1
    // encourages it), a stale window grants nothing.
    private static TimeSpan Seconds(string? value)
    {
        if (string.IsNullOrEmpty(value) || !value.All(char.IsAsciiDigit))
        {
            return TimeSpan.Zero;
        }

        var seconds = value.Length > 10 ? MaxDeltaSeconds : Math.Min(long.Parse(value, System.Globalization.CultureInfo.InvariantCulture), MaxDeltaSeconds);
        return TimeSpan.FromSeconds(seconds);
    }

    private static void SkipSpace(string line, ref int i)
    {
        while (i < line.Length && line[i] is ' ' or '\t')
        {
            i++;
        }
    }

    private static string Token(string line, ref int i)
    {
        var start = i;
        while (i < line.Length && line[i] is not (',' or ' ' or '\t'))
        {
            i++;
        }

        return line[start..i];
    }

    private static string QuotedString(string line, ref int i)
    {
        var sb = new StringBuilder();
        i++; // the opening quote
        while (i < line.Length && line[i] != '"')
        {
            if (line[i] == '\\' && i + 1 < line.Length)
            {
                i++;
            }

            sb.Append(line[i]);
            i++;
        }

        i++; // the closing quote (or past the end of an unterminated one)
        return sb.ToString();
    }
}
