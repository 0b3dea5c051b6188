using Gatehouse.Model.Schema;
namespace Gatehouse.Model.Config;

/// <summary>
/// Answers the route's requests at the gateway with a fixed response instead of forwarding them: a mock while the service
/// is being built, a maintenance notice, a retired API's farewell, a stub for a client's tests. It is answered after
/// authentication, plans and limits (and request validation), so only the callers the route admits get it and each
/// counts; CORS and the <c>RateLimit</c> headers are on it like on any answer. The service is never called.
/// </summary>
public sealed record RespondConfig
{
    /// <summary>Whether the route answers this way; <c>false</c> switches a service's default off on one route.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>The status answered (200 to 599).</summary>
    [Minimum(200)]
    public int Status { get; init; } = 200;

    /// <summary>The body, as written (none for <c>HEAD</c>, 204 and 304).</summary>
    [DefaultText("empty")]
    public string Body { get; init; } = "";

    /// <summary>The body's <c>Content-Type</c>.</summary>
    [NonEmpty]
    [DefaultText("application/json when the body is JSON, else text/plain; charset=utf-8")]
    public string? ContentType { get; init; }

    /// <summary>
    /// The <c>Location</c> of a redirect (3xx) or of what a 201 created: a path (<c>/v2/orders/{id}</c>) or an absolute
    /// URL, whose <c>{NAME}</c> (a capture of the route's path; <c>{**rest}</c> keeps its <c>/</c>) and
    /// <c>{@request.…}</c> placeholders are filled in percent-encoded, as in a request transform's <c>path</c>.
    /// </summary>
    [NonEmpty]
    public string? Location { get; init; }

    /// <summary>Whether the request's query string is appended to <c>location</c>.</summary>
    public bool KeepQuery { get; init; }

    /// <summary>
    /// Further response headers, e.g. <c>Retry-After</c> on a 503. A value is a literal or a request reference
    /// (<c>@request.id</c>, <c>@request.headers.NAME</c>, …; <c>@@</c> starts a literal <c>@</c>), as in a transform.
    /// </summary>
    [DocType("mapping of header name to value")]
    public IReadOnlyDictionary<string, string> Headers { get; init; } = EmptyHeaders;

    private static readonly IReadOnlyDictionary<string, string> EmptyHeaders = new Dictionary<string, string>();
}
