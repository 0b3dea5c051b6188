using System.Text.Json.Serialization;

namespace Gatehouse.Client;

internal sealed record CredentialBody(string? ApiKey, string? Bearer);

internal sealed record AuthrepBody(CredentialBody Credential, string Operation, string? Client, bool? ReportsOutcome = null);

internal sealed record UsageEntry(CredentialBody Credential, string Operation, string? Client, int Hits, int? Status = null, double? DurationMs = null, bool? Counted = null);

internal sealed record ReportBody(List<UsageEntry> Usage);

internal sealed record LimitState(string Name, int Limit, long Remaining, int Reset);

internal sealed record Decision(bool Allowed, string? Reason, string? Detail, string? Application, string? Plan, List<LimitState>? Limits)
{
    /// <summary>The OAuth scopes the operation requires, when a bearer token with them is what the caller lacks (a gateway before them sends none).</summary>
    public string? Scope { get; init; }

    /// <summary>Set here, not read from the answer: the authrep said the service reports this call's outcome.</summary>
    [JsonIgnore]
    public bool OutcomeReported { get; init; }
}

// Unknown fields in answers are ignored, so a newer gateway can add some.
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(AuthrepBody))]
[JsonSerializable(typeof(ReportBody))]
[JsonSerializable(typeof(Decision))]
internal sealed partial class ClientJson : JsonSerializerContext;
