using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// What a provider model costs, in US dollars (or any one currency used throughout) per million tokens, as the provider's
/// price list says: <c>{ prompt: 0.15, completion: 0.60 }</c>. Each call's cost is recorded with its tokens.
/// </summary>
public sealed record AiPriceConfig
{
    /// <summary>Per million prompt (input) tokens.</summary>
    public double Prompt { get; init; }

    /// <summary>Per million completion (output) tokens.</summary>
    public double Completion { get; init; }

    /// <summary>
    /// Per million prompt tokens the provider read from its prompt cache (OpenAI's "cached input", Anthropic's "cache
    /// hits"), which it bills at a fraction of <c>prompt</c>; an agent's calls are mostly such tokens.
    /// </summary>
    [DefaultText("`prompt`")]
    public double? CachedPrompt { get; init; }

    /// <summary>Per million prompt tokens the provider wrote to its prompt cache (Anthropic's "cache writes", above <c>prompt</c>).</summary>
    [DefaultText("`prompt`")]
    public double? CacheWrite { get; init; }
}
