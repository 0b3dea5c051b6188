using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>One model provider of an <c>ai</c> service.</summary>
public sealed record AiProviderConfig
{
    /// <summary>The API the provider speaks.</summary>
    public AiProviderType Type { get; init; } = AiProviderType.Openai;

    /// <summary>
    /// The provider's API base, to which <c>/chat/completions</c>, <c>/responses</c>, <c>/embeddings</c> are added:
    /// <c>https://api.openai.com/v1</c>, <c>http://127.0.0.1:11434/v1</c> (Ollama), <c>http://127.0.0.1:8000/v1</c> (vLLM).
    /// For <c>type: anthropic</c>, the base to which <c>/messages</c> is added: <c>https://api.anthropic.com/v1</c>. For
    /// <c>type: azure</c>, the resource's endpoint, to which <c>/openai/deployments/{deployment}/…</c> is added:
    /// <c>https://my-resource.openai.azure.com</c>.
    /// </summary>
    [RequiredKey("the provider's API base, e.g. 'url: https://api.openai.com/v1'")]
    public required string Url { get; init; }

    /// <summary>
    /// The gateway's key for the provider, from an environment variable of each node: for OpenAI write
    /// <c>{ env: OPENAI_API_KEY, prefix: "Bearer " }</c>, for Anthropic <c>{ env: ANTHROPIC_API_KEY, header: x-api-key }</c>,
    /// for Azure OpenAI <c>{ env: AZURE_OPENAI_API_KEY, header: api-key }</c>.
    /// Never stored, exported or logged; a client's own <c>Authorization</c> is never sent to a provider.
    /// </summary>
    [DefaultText("none (a local server)")]
    public ServiceCredentialConfig? Credential { get; init; }

    /// <summary>
    /// From sending a call until the response headers (and, for a stream, its first event) arrive; past it the call
    /// moves to the alias's next provider model, or the client gets 504. When the client leaves (with
    /// <c>onClientLeave: finish</c>), the rest of the answer is read without it for at most this long more (so its usage
    /// is the provider's), then given up: estimated if its answer had begun, else counted as nothing, as with the client there.
    /// </summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>To open a connection; past it the call moves to the next provider model.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The version of the provider's API the gateway speaks: for <c>type: anthropic</c> the <c>anthropic-version</c>
    /// header, for <c>type: azure</c> the <c>api-version</c> query parameter (a version whose chat completions take
    /// <c>stream_options</c>). Not used by <c>type: openai</c>, where it is an error.
    /// </summary>
    [DefaultText("anthropic: 2023-06-01; azure: 2024-10-21")]
    public string? ApiVersion { get; init; }

    /// <summary>
    /// For <c>type: anthropic</c>: the chat and Responses calls translated for it mark Anthropic's prompt cache (the
    /// tools, the system prompt, the latest turn and the user turn before it), as OpenAI-format clients cannot. Reads
    /// from the cache cost a tenth of the prompt price and writes a quarter more, so an agent's repeated prefix gets
    /// cheaper, and a one-off call dearer. Calls of Anthropic's own API set their own marks and are passed as they are.
    /// </summary>
    public bool PromptCache { get; init; }

    /// <summary>
    /// For <c>type: openai</c>: whether the server has OpenAI's Responses API (<c>POST /responses</c>). Many
    /// OpenAI-compatible APIs have only chat completions (DeepSeek's, Mistral's, Gemini's compatibility API, older vLLM,
    /// Ollama and LM Studio); with <c>false</c> the gateway translates Responses calls to chat completions for it.
    /// </summary>
    public bool ResponsesApi { get; init; } = true;

    /// <summary>
    /// What becomes of a call whose client leaves (closes its connection or cancels its stream) once the call was sent.
    /// <c>finish</c>: the provider's answer is read to its end without the client (within <c>timeout</c>) and the call is
    /// settled with the provider's own usage, since a billed provider (OpenAI, Anthropic, Azure) bills the whole answer
    /// anyway: token and spend limits and usage then match the bill, and a client cannot pass its limit by leaving; a
    /// provider that then fails before its answer began (a 5xx, a reset) bills nothing, and the call counts nothing.
    /// <c>cancel</c>: the provider's call is ended at once, and settled with the prompt and what was relayed, marked
    /// estimated: for a self-hosted server (vLLM, Ollama, LM Studio), which stops generating when its request is aborted,
    /// so that its GPU is not spent on an answer no one reads. Either way no other provider is tried for it.
    /// </summary>
    public AiClientLeave OnClientLeave { get; init; } = AiClientLeave.Finish;
}

/// <summary>What becomes of a model call whose client left (<c>onClientLeave</c>).</summary>
public enum AiClientLeave
{
    /// <summary>The provider's answer is read to its end without the client, and settled with the provider's usage.</summary>
    Finish,

    /// <summary>The provider's call is ended at once, and settled with what was counted by then, estimated.</summary>
    Cancel,
}

/// <summary>Provider APIs.</summary>
public enum AiProviderType
{
    /// <summary>OpenAI's API, and servers compatible with it (vLLM, Ollama, LM Studio).</summary>
    Openai,

    /// <summary>
    /// Anthropic's Messages API (<c>POST /messages</c>): the gateway translates OpenAI-format chat calls to it and its
    /// answers back (docs/ai.md). It has no embeddings.
    /// </summary>
    Anthropic,

    /// <summary>
    /// Azure OpenAI: OpenAI's API on deployment paths (<c>/openai/deployments/{deployment}/chat/completions?api-version=…</c>;
    /// the Responses API on <c>/openai/v1/responses</c>); an alias's <c>model</c> names the deployment.
    /// </summary>
    Azure,
}
