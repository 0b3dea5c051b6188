namespace Gatehouse.Gateway.Observability;

/// <summary>
/// What one model call leaves for usage analytics when it ends (its token reservation settled): who, through which alias
/// and provider model, its tokens and their cost. Names are the snapshot's and the request's own strings; no key, header
/// or body is in it.
/// </summary>
internal readonly record struct AiUsageRecord(
    long UtcTicks,
    string Application,
    string Plan,
    string Alias,
    string Provider,
    string Model,
    long PromptTokens,
    long CompletionTokens,
    bool Estimated,
    long CostNanos);
