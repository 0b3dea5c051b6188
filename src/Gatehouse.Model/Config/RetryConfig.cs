using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// When a failed attempt is tried again, on another destination when there is one. Every attempt and every back-off
/// fall within the route's <c>timeout</c>, which is the deadline of the whole request.
/// </summary>
[EmptyAllowed]
public sealed record RetryConfig
{
    /// <summary>Attempts in all, the first one included; <c>1</c> turns retries off.</summary>
    [Minimum(1)]
    public int Attempts { get; init; } = 3;

    /// <summary>
    /// What is retried: <c>connect-failure</c> (the upstream could not be reached), <c>reset</c> (the connection broke
    /// before response headers), <c>timeout</c> (no headers within <c>perTryTimeout</c>), and response status codes
    /// (<c>502</c>, <c>503</c>, <c>504</c>, or a 4xx such as <c>429</c>, whose <c>Retry-After</c> is honoured).
    /// </summary>
    [OneOrMany]
    [DocType("list of conditions and status codes")]
    [DefaultText("`[connect-failure, reset, 502, 503, 504]`")]
    public IReadOnlyList<string> RetryOn { get; init; } = DefaultRetryOn;

    /// <summary>
    /// Retry methods that are not idempotent (POST, PATCH) too. Without it only GET, HEAD, OPTIONS, TRACE, PUT and
    /// DELETE are retried, except that a request that never reached the upstream (its connection was refused) is
    /// always safe to send again.
    /// </summary>
    public bool NonIdempotent { get; init; }

    /// <summary>
    /// Request bodies with a <c>Content-Length</c> up to this size are buffered so they can be sent again; a larger body,
    /// or one without <c>Content-Length</c> (chunked), is streamed and never retried.
    /// </summary>
    [Size]
    public long MaxBodySize { get; init; } = 64 * 1024;

    /// <summary>Base of the fully jittered exponential back-off: before retry n, a random wait up to base × 2^(n-1).</summary>
    [ZeroAllowed]
    public TimeSpan BackOff { get; init; } = TimeSpan.FromMilliseconds(25);

    /// <summary>The back-off never exceeds this.</summary>
    [ZeroAllowed]
    public TimeSpan MaxBackOff { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// A <c>Retry-After</c> up to this long is waited for before the retry; a longer one is passed to the client
    /// instead, unretried.
    /// </summary>
    [ZeroAllowed]
    public TimeSpan MaxRetryAfter { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Time allowed to each attempt until response headers; never past the route's deadline.</summary>
    [DefaultText("the route's `timeout`")]
    public TimeSpan? PerTryTimeout { get; init; }

    /// <summary>The conditions retried by default.</summary>
    public static readonly IReadOnlyList<string> DefaultRetryOn = ["connect-failure", "reset", "502", "503", "504"];
}

/// <summary>
/// How many retries a service takes, so that retries cannot multiply the load on a failing service (a retry storm).
/// A retry needs room in both forms; one not made is counted (<c>gatehouse.retries.refused</c>).
/// </summary>
[EmptyAllowed]
public sealed record RetryBudgetConfig
{
    /// <summary>Retries in flight at once, as a share of the service's requests in flight, in percent.</summary>
    [Minimum(0)]
    public int ActivePercent { get; init; } = 20;

    /// <summary>Retries in flight that are always allowed, however few requests are.</summary>
    [Minimum(0)]
    public int MinActive { get; init; } = 3;

    /// <summary>Retries over <c>window</c>, as a share of the requests over it, in percent.</summary>
    [Minimum(0)]
    public int RatePercent { get; init; } = 20;

    /// <summary>Retries per second allowed on top of <c>ratePercent</c>.</summary>
    [Minimum(0)]
    public int MinPerSecond { get; init; } = 10;

    /// <summary>The window <c>ratePercent</c> and <c>minPerSecond</c> are counted over.</summary>
    public TimeSpan Window { get; init; } = TimeSpan.FromSeconds(10);
}
