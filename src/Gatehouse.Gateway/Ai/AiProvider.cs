using System.Collections.Concurrent;
using System.Net;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Ai;

/// <summary>One compiled model provider: where it is, the gateway's own key for it, and its connection pool.</summary>
internal sealed class AiProvider
{
    public AiProvider(string name, AiProviderConfig config)
    {
        Name = name;
        Type = config.Type;
        BaseUrl = config.Url.TrimEnd('/');
        CredentialHeader = config.Credential?.Header;
        CredentialValue = config.Credential?.Value ?? "";
        Timeout = config.Timeout;
        FinishWhenClientLeaves = config.OnClientLeave == AiClientLeave.Finish;
        PromptCache = config.PromptCache;
        ResponsesApi = config.ResponsesApi && config.Type != AiProviderType.Anthropic;
        CompletionLimitName = config.Type == AiProviderType.Azure || (Uri.TryCreate(BaseUrl, UriKind.Absolute, out var url) && url.Host.Equals("api.openai.com", StringComparison.OrdinalIgnoreCase))
            ? "max_completion_tokens"
            : "max_tokens";
        ApiVersion = config.ApiVersion ?? config.Type switch
        {
            AiProviderType.Anthropic => AnthropicVersion,
            AiProviderType.Azure => AzureVersion,
            _ => null,
        };
        Invoker = Invokers.GetOrAdd(config.ConnectTimeout, static connect => new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            ConnectTimeout = connect,
            ActivityHeadersPropagator = null,
            // Hosted providers sit behind CDNs and load balancers whose addresses change: a connection kept for ever would
            // keep calling an address its name no longer has. After 5 minutes a connection is not reused (an open
            // stream is not cut), and the next call resolves the name again.
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        }, disposeHandler: true));
    }

    // One pool per connect timeout, shared by every provider and revision: providers are few, and a reload must not
    // drop warm connections to them (the handler keeps a pool per host and port itself).
    private static readonly ConcurrentDictionary<TimeSpan, HttpMessageInvoker> Invokers = new();

    public string Name { get; }

    public AiProviderType Type { get; }

    /// <summary>The API base without a trailing slash.</summary>
    public string BaseUrl { get; }

    /// <summary>The header the gateway's key goes in; null for a provider without one.</summary>
    public string? CredentialHeader { get; }

    /// <summary>The key, read from the node's environment. Never logged, never in a response.</summary>
    public string CredentialValue { get; }

    public TimeSpan Timeout { get; }

    /// <summary>
    /// A call whose client left is read to its end without it and settled with the provider's usage
    /// (<c>onClientLeave: finish</c>), rather than ended at once and estimated (<c>cancel</c>).
    /// </summary>
    public bool FinishWhenClientLeaves { get; }

    /// <summary>Mark Anthropic's prompt cache in the calls translated for this provider (<c>promptCache</c>).</summary>
    public bool PromptCache { get; }

    /// <summary>The provider has OpenAI's Responses API; without it, Responses calls are translated (<c>responsesApi</c>).</summary>
    public bool ResponsesApi { get; }

    /// <summary>
    /// The name of a chat call's output limit when the gateway writes one (translating Anthropic's Messages API):
    /// <c>max_completion_tokens</c> for OpenAI's own API and Azure's, whose reasoning models refuse the older
    /// <c>max_tokens</c>; <c>max_tokens</c> for the compatible servers (vLLM, Ollama, LM Studio), which all take it.
    /// </summary>
    public string CompletionLimitName { get; }

    /// <summary>The <c>anthropic-version</c> the gateway's translation is written against.</summary>
    public const string AnthropicVersion = "2023-06-01";

    /// <summary>Azure OpenAI's GA <c>api-version</c> whose chat completions take <c>stream_options</c>.</summary>
    public const string AzureVersion = "2024-10-21";

    /// <summary>The provider API's version (Anthropic's <c>anthropic-version</c>, Azure's <c>api-version</c>); null for OpenAI.</summary>
    public string? ApiVersion { get; }

    /// <summary>
    /// Whether the provider's API has <paramref name="operation"/>. Chat completions, OpenAI's Responses API and
    /// Anthropic's Messages API go to every provider (translated where the provider speaks the other API); embeddings
    /// only to OpenAI's and Azure's, and Anthropic's token count only to Anthropic's (the gateway counts for the others
    /// itself).
    /// </summary>
    public bool Serves(AiOperation operation) => operation switch
    {
        AiOperation.Chat or AiOperation.Messages or AiOperation.Responses => true,
        AiOperation.CountTokens => Type == AiProviderType.Anthropic,
        _ => Type != AiProviderType.Anthropic,
    };

    public HttpMessageInvoker Invoker { get; }

    /// <summary>
    /// A request for <paramref name="operation"/> to <paramref name="model"/> in the provider's API, built only from what
    /// the gateway wrote (the model and version come from the config, checked when it was loaded, and are escaped).
    /// </summary>
    /// <param name="beta">The client's <c>anthropic-beta</c> (checked to be a list of names) for Anthropic's own API; else null.</param>
    public HttpRequestMessage NewRequest(AiOperation operation, string model, byte[] body, string? beta = null)
    {
        var call = operation switch
        {
            AiOperation.Chat => "/chat/completions",
            AiOperation.Responses => "/responses",
            _ => "/embeddings",
        };
        var path = Type switch
        {
            AiProviderType.Anthropic => operation == AiOperation.CountTokens ? "/messages/count_tokens" : "/messages",
            // Azure serves the Responses API only on its v1 path, with the deployment in the body's model (set by the caller).
            AiProviderType.Azure when operation == AiOperation.Responses => "/openai/v1/responses",
            AiProviderType.Azure => "/openai/deployments/" + Uri.EscapeDataString(model) + call + "?api-version=" + Uri.EscapeDataString(ApiVersion!),
            _ => call,
        };
        var request = new HttpRequestMessage(HttpMethod.Post, BaseUrl + path)
        {
            Content = new ByteArrayContent(body),
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
        request.Content.Headers.ContentType = new("application/json");
        if (CredentialHeader is not null && CredentialValue.Length > 0)
        {
            request.Headers.TryAddWithoutValidation(CredentialHeader, CredentialValue);
        }

        if (Type == AiProviderType.Anthropic)
        {
            request.Headers.TryAddWithoutValidation("anthropic-version", ApiVersion);
            if (beta is not null)
            {
                request.Headers.TryAddWithoutValidation("anthropic-beta", beta);
            }
        }

        return request;
    }
}
