using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// The model providers of a service of <c>kind: ai</c> and the model aliases clients ask for. A route bound to the
/// service serves <c>POST …/chat/completions</c>, <c>POST …/responses</c>, <c>POST …/embeddings</c> and <c>GET …/models</c> in OpenAI's format
/// (docs/ai.md).
/// </summary>
[BindingRules(typeof(Loading.AiServiceRules))]
public sealed record AiServiceConfig
{
    /// <summary>The providers by name: where each one is and how the gateway authenticates to it.</summary>
    [RequiredKey("the model providers by name, e.g. 'providers: { local: { url: http://127.0.0.1:11434/v1 } }'")]
    [DocType("mapping name → provider")]
    public IReadOnlyDictionary<string, AiProviderConfig> Providers { get; init; } = new Dictionary<string, AiProviderConfig>();

    /// <summary>
    /// Model aliases clients name in <c>model</c> (<c>fast</c>, <c>smart</c>), each a list of provider models in priority
    /// order: a call goes to the first, and moves to the next on 429, 5xx, a timeout or a connect failure, as long as
    /// nothing has been sent to the client yet. Clients can name only aliases.
    /// </summary>
    [RequiredKey("the model aliases, e.g. 'models: { fast: [ { provider: local, model: llama3 } ] }'")]
    [DocType("mapping alias → list of provider models")]
    public IReadOnlyDictionary<string, IReadOnlyList<AiModelTargetConfig>> Models { get; init; } = new Dictionary<string, IReadOnlyList<AiModelTargetConfig>>();

    /// <summary>Provider models that fail are passed over for a while, on each node, rather than tried first by every call.</summary>
    [DefaultText("after 3 consecutive failures, for 30s; a 429's Retry-After up to 5m at once")]
    public AiCooldownConfig Cooldown { get; init; } = new();

    /// <summary>
    /// Keeps the Responses API's responses and conversations at the gateway, per application, so that
    /// <c>previous_response_id</c>, <c>store</c>, <c>GET</c>/<c>DELETE …/responses/{id}</c> and the Conversations API
    /// (<c>…/conversations</c>, <c>conversation</c>) work (docs/ai.md). Without it the API is stateless.
    /// </summary>
    [DefaultText("none: the Responses API is stateless")]
    public AiResponsesConfig? Responses { get; init; }

    /// <summary>
    /// Prompts published as REST operations of this service, by name: each is the operation <c>SERVICE.NAME</c>, bound
    /// by a route like any operation (<c>{ operation: llm.summarize, path: /summarize }</c>).
    /// </summary>
    [DefaultText("none")]
    [DocType("mapping name → prompt")]
    public IReadOnlyDictionary<string, AiPromptConfig> Prompts { get; init; } = new Dictionary<string, AiPromptConfig>();
}
