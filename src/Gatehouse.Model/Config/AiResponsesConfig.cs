using Gatehouse.Model.Schema;

namespace Gatehouse.Model.Config;

/// <summary>
/// Responses and conversations kept by the gateway (<c>ai.responses</c>), so that OpenAI's Responses API is served with
/// its state: <c>previous_response_id</c>, <c>store</c>, <c>GET</c>/<c>DELETE …/responses/{id}</c>, and the Conversations
/// API with <c>conversation</c>, on every provider, the translated ones included. Each application sees only the responses made with its own credentials; providers are
/// still called with <c>store: false</c>, since their account is shared by every application.
/// </summary>
[EmptyAllowed]
public sealed record AiResponsesConfig
{
    /// <summary>How long a response or a conversation is kept after it was made or last continued (or, for a conversation, used); a continuation of one kept no longer is refused.</summary>
    public TimeSpan Ttl { get; init; } = TimeSpan.FromHours(24);

    /// <summary>The most this node keeps of the service's responses and conversations, in bytes of JSON, for all its applications; the least recently continued go first.</summary>
    [Size]
    public long Size { get; init; } = 64 * 1024 * 1024;

    /// <summary>
    /// Redis as the shared store of every node: <c>redis://[:password@]host:port[/db]</c>, or a StackExchange.Redis
    /// configuration string, as in <c>gateway.limits.redis</c> (write <c>${REDIS_URL}</c> to keep the password in the
    /// environment). A conversation can then go on at any node. <c>size</c> then bounds one response (or one call's items) only; what Redis
    /// keeps in all is its own <c>maxmemory</c> (with an LRU eviction policy). While Redis does not answer, continuing,
    /// reading and deleting answer 503 and new responses are answered but not kept.
    /// </summary>
    [NonEmpty]
    [DocType("URL")]
    [DefaultText("none (each node's memory)")]
    public string? Redis { get; init; }
}
