using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>One provider model behind an alias, written <c>{ provider: local, model: llama3 }</c>.</summary>
public sealed record AiModelTargetConfig
{
    /// <summary>A provider of the service's <c>providers</c>.</summary>
    [RequiredKey("a provider of this service's 'providers'")]
    [DocType("provider name")]
    public required string Provider { get; init; }

    /// <summary>
    /// The model's name at the provider (<c>gpt-4o-mini</c>, <c>llama3</c>); for an Azure OpenAI provider, the deployment's
    /// name (letters, digits, <c>-</c>, <c>_</c>, <c>.</c>).
    /// </summary>
    [RequiredKey("the model's name at the provider, e.g. 'model: gpt-4o-mini'")]
    public required string Model { get; init; }

    /// <summary>
    /// When this entry is tried: lower first. Entries of the same priority share the calls by <see cref="Weight"/>, and
    /// a call that one of them fails moves to the others of that priority before the next priority. Either every entry
    /// of an alias sets it, or none does.
    /// </summary>
    [DefaultText("the entry's position in the list (0, 1, …)")]
    public int? Priority { get; init; }

    /// <summary>
    /// This entry's share of the calls among the entries of its <see cref="Priority"/>: with weights 3 and 1, the first
    /// is tried first in three calls of four. 1 to 1,000,000; only meaningful where entries share a priority.
    /// </summary>
    public int Weight { get; init; } = 1;

    /// <summary>
    /// The price of this provider model per million tokens (<c>{ prompt: 0.15, completion: 0.60 }</c>); each call it
    /// answers records its cost with its tokens (metric <c>gatehouse.ai.cost</c>, docs/ai.md).
    /// </summary>
    [Schema.DefaultText("none (no cost recorded)")]
    public AiPriceConfig? Price { get; init; }
}
