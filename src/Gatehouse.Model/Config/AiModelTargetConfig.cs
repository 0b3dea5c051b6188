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
}
