using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using ModelContextProtocol.Client;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>
/// A gateway with <c>gateway.mcp</c> on and an <c>ai</c> service in front of one fake provider, publishing the prompt
/// <c>summarize</c> (operation <c>llm.summarize</c>) at <c>POST /summarize</c>; plan <c>gold</c> grants it (plus
/// the kit's goldExtra), plan <c>other</c> grants only the model route. One application and key per plan.
/// </summary>
internal sealed class PromptKit : IAsyncDisposable
{
    private PromptKit(TestGateway gateway, FakeProvider provider, Dictionary<string, TestKey> keys, Model.Config.GatehouseConfig config)
    {
        Gateway = gateway;
        Provider = provider;
        Keys = keys;
        Config = config;
    }

    public TestGateway Gateway { get; }

    public FakeProvider Provider { get; }

    public Dictionary<string, TestKey> Keys { get; }

    public Model.Config.GatehouseConfig Config { get; }

    public const string Prompt = """
                  summarize:
                    model: fast
                    summary: Summarize a text in one sentence
                    output: summary
                    input: { type: object, properties: { text: { type: string, maxLength: 2000 }, tone: { type: string } }, required: [text] }
                    messages:
                      - { role: system, content: "You summarize texts in one sentence." }
                      - { role: user, content: "Summarize this, {{tone}}:\n\n{{text}}" }
                    parameters: { temperature: 0.2, max_tokens: 10 }
        """;

    public static async Task<PromptKit> StartAsync(string goldExtra = "")
    {
        var provider = await FakeProvider.StartAsync();
        var keys = new[] { "gold", "other" }.ToDictionary(p => p, _ => TestKey.New());
        var yaml = $$"""
            version: 1
            gateway:
              mcp: true
            services:
              llm:
                kind: ai
                ai:
                  providers:
                    p0: { url: "{{provider.BaseUrl}}", timeout: 5s }
                  models:
                    fast: [ { provider: p0, model: model-0 } ]
                  prompts:
            {{Prompt}}
            routes:
              ai: { path: "/v1/{**rest}", service: llm }
              summarize: { operation: llm.summarize, path: /summarize }
            plans:
              gold:
                include: [ { operation: llm.summarize }, { route: ai, access: read } ]
            {{goldExtra}}
              other:
                include: [ { route: ai, access: read } ]
            accounts:
              a: {}
            applications:
            {{string.Concat(keys.Select(k => $"  {k.Key}-app: {{ account: a, plan: {k.Key}, keys: [ {{ sha256: \"{k.Value.Sha256}\" }} ] }}\n"))}}
            """;
        var config = TestGateway.Parse(yaml);
        var gateway = await TestGateway.StartAsync(config);
        return new PromptKit(gateway, provider, keys, config);
    }

    /// <summary><c>POST /summarize</c> of <paramref name="json"/> with <paramref name="plan"/>'s key.</summary>
    public Task<HttpResponseMessage> PostAsync(string json, string plan = "gold")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/summarize") { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add(AccessKit.KeyHeader, Keys[plan].Plaintext);
        return Gateway.Client.SendAsync(request);
    }

    /// <summary>The official C# SDK's MCP client with <paramref name="plan"/>'s key.</summary>
    public Task<McpClient> McpAsync(string plan) =>
        McpClient.CreateAsync(new HttpClientTransport(new HttpClientTransportOptions
        {
            Endpoint = new Uri(Gateway.Url + "/mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { [AccessKit.KeyHeader] = Keys[plan].Plaintext },
        }));

    public async ValueTask DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await Provider.DisposeAsync();
    }
}
