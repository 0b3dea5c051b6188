namespace Gatehouse.Gateway.Ai;

/// <summary>What a call is.</summary>
internal enum AiOperation
{
    Chat,
    Embeddings,
    /// <summary>OpenAI's Responses API (<c>POST …/responses</c>), stateless: docs/ai.md.</summary>
    Responses,
    /// <summary>Anthropic's Messages API (<c>POST …/messages</c>): passed through to Anthropic providers, translated for the others.</summary>
    Messages,
    /// <summary>Anthropic's token count (<c>POST …/messages/count_tokens</c>): no tokens used, none recorded.</summary>
    CountTokens,
}
