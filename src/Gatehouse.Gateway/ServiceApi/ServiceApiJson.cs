using System.Text.Json.Serialization;

namespace Gatehouse.Gateway.ServiceApi;

/// <summary>A credential as the service saw it: an API key, a bearer token, or neither (anonymous).</summary>
internal sealed record CredentialBody
{
    public string? ApiKey { get; init; }

    public string? Bearer { get; init; }
}

/// <summary>The body of <c>/api/authorize</c> and <c>/api/authrep</c>, and one entry of a report.</summary>
internal record TargetBody
{
    /// <summary>Absent means anonymous, like <c>{}</c>.</summary>
    public CredentialBody? Credential { get; init; }

    public string? Operation { get; init; }

    /// <summary>A route bound to no operation (then <see cref="Method"/> is required).</summary>
    public string? Route { get; init; }

    public string? Method { get; init; }

    /// <summary>The end client's address: what anonymous requests count under.</summary>
    public string? Client { get; init; }
}

/// <summary>The body of <c>/api/authorize</c> and <c>/api/authrep</c>.</summary>
internal sealed record AuthorizeBody : TargetBody
{
    /// <summary>
    /// For authrep: the service reports an allowed call's outcome itself (its status and duration, in a report entry with
    /// <see cref="UsageBody.Counted"/>), so usage analytics records only the refusals here; limits count as ever.
    /// </summary>
    public bool? ReportsOutcome { get; init; }
}

/// <summary>One entry of a usage report.</summary>
internal sealed record UsageBody : TargetBody
{
    /// <summary>Calls to count; absent means 1 (nullable because generated deserializers skip an init default).</summary>
    public int? Hits { get; init; }

    /// <summary>The status the service answered the calls with, for usage analytics; absent means 200.</summary>
    public int? Status { get; init; }

    /// <summary>How long each call took, in milliseconds, for usage analytics' latency; absent means not timed.</summary>
    public double? DurationMs { get; init; }

    /// <summary>
    /// True: the calls were already counted against the limits by an authrep that said <see cref="AuthorizeBody.ReportsOutcome"/>;
    /// this entry records their outcome for usage analytics only.
    /// </summary>
    public bool? Counted { get; init; }
}

internal sealed record ReportBody
{
    public List<UsageBody>? Usage { get; init; }
}

internal sealed record LimitState(string Name, int Limit, long Remaining, int Reset);

internal sealed record AuthorizeResult(bool Allowed, string? Reason, string? Detail, string? Application, string? Plan, List<LimitState> Limits)
{
    /// <summary>
    /// The OAuth scopes the operation requires (space-separated, as RFC 6750's <c>scope</c>), when a bearer token with them
    /// is what the caller lacks (<c>insufficient_scope</c>, or <c>missing_credential</c> on a scoped operation), so that a
    /// service answers with the challenge the gateway would; otherwise left out.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Scope { get; init; }
}

internal sealed record Rejection(int Index, string Reason);

internal sealed record ReportResult(int Accepted, List<Rejection> Rejected);

/// <summary>
/// Source-generated (de)serializers. Unknown members are errors, as in the config: a misspelt field
/// (<c>opertion</c>) must not silently turn into "no operation".
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(AuthorizeBody))]
[JsonSerializable(typeof(ReportBody))]
[JsonSerializable(typeof(AuthorizeResult))]
[JsonSerializable(typeof(ReportResult))]
internal sealed partial class ServiceApiJson : JsonSerializerContext;
