using System.ClientModel;
using Gatehouse.Gateway.Tests.Access;
using Gatehouse.Gateway.Tests.Infrastructure;
using Gatehouse.Model.Loading;
using Microsoft.Extensions.Logging;
using OpenAI;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>A gateway with an <c>ai</c> service in front of fake providers, a plan that grants its route, and a key.</summary>
internal sealed class AiKit : IAsyncDisposable
{
    /// <summary>The provider key, as the node's environment holds it.</summary>
    public const string ProviderSecret = "sk-provider-secret-0123456789";

    /// <summary>A plan's token limit of 100,000 a day, as <c>planExtra</c> (the tests that count tokens read it back).</summary>
    public const string DayTokenLimit = "    tokenLimits: [ { tokens: 100000, per: day } ]";

    /// <summary>The <c>ai</c> service's lines (<c>aiExtra</c>) that keep responses and conversations in memory for an hour.</summary>
    public const string KeptAnHour = "      responses: { ttl: 1h }";

    private AiKit(TestGateway gateway, FakeProvider[] providers, FakeAnthropic[] anthropic, FakeProvider[] azure, TestKey key)
    {
        Azure = azure;
        Gateway = gateway;
        Providers = providers;
        Anthropic = anthropic;
        Key = key;
    }

    public TestGateway Gateway { get; }

    public FakeProvider[] Providers { get; }

    /// <summary>Fake Anthropic providers, named <c>a0</c>, <c>a1</c>… in the config.</summary>
    public FakeAnthropic[] Anthropic { get; }

    /// <summary>Fake OpenAI servers configured as Azure OpenAI resources, named <c>z0</c>, <c>z1</c>… in the config.</summary>
    public FakeProvider[] Azure { get; }

    public TestKey Key { get; }

    /// <summary>
    /// A client that goes away: it closes its connection when a response is disposed before its end, where HttpClient's
    /// default reads on (up to 1 MB, for 2 s) to keep the connection.
    /// </summary>
    public HttpClient Leaving => _leaving ??= new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { BaseAddress = new Uri(Gateway.Url) };

    private HttpClient? _leaving;

    /// <summary>The config the gateway started with (to apply a changed one).</summary>
    public Gatehouse.Model.Config.GatehouseConfig Config { get; private init; } = null!;

    /// <summary>OpenAI's official client, aimed at the gateway's <c>/v1</c> with the application's key.</summary>
    public OpenAIClient OpenAI() => new(new ApiKeyCredential(Key.Plaintext), new OpenAIClientOptions { Endpoint = new Uri(Gateway.Url + "/v1"), NetworkTimeout = TimeSpan.FromSeconds(30), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(maxRetries: 0) });

    /// <summary>A <c>POST</c> of <paramref name="json"/> to <paramref name="path"/> (chat completions by default) with the application's key.</summary>
    public HttpRequestMessage Post(string json, string path = "/v1/chat/completions")
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Add("X-Api-Key", Key.Plaintext);
        return request;
    }

    /// <summary>A request to the gateway with <paramref name="key"/> (an application's), and a JSON body when one is given.</summary>
    public Task<HttpResponseMessage> SendAsync(TestKey key, HttpMethod method, string path, string? json = null)
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json");
        }

        request.Headers.Add("X-Api-Key", key.Plaintext);
        return Gateway.Client.SendAsync(request);
    }

    /// <summary>The id of a Responses API response made with <paramref name="key"/> (the test fails on any other status).</summary>
    public async Task<string> CreateResponseAsync(TestKey key, string json) => (await OkAsync(key, HttpMethod.Post, "/v1/responses", json))["id"]!.GetValue<string>();

    /// <summary>
    /// The text of a streamed Responses call whose first provider resets the connection mid-stream
    /// (<see cref="FakeFault.ResetMidStream"/>, set by the caller): the reset is released once a text delta arrived, and
    /// the gateway ends the answer with its error event and an abort.
    /// </summary>
    public async Task<string> ReadCutStreamAsync(string json)
    {
        var released = false;
        var text = await PostUntilAbortAsync(json, "/v1/responses", seen =>
        {
            if (!released && seen.Contains("response.output_text.delta", StringComparison.Ordinal))
            {
                released = Providers[0].Release.TrySetResult(); // the provider resets the connection now
            }
        });
        Xunit.Assert.True(released, text);
        return text;
    }

    /// <summary>What the <c>llm</c> service keeps in this gateway's memory (<c>ai.responses</c>).</summary>
    public Gatehouse.Gateway.Ai.AiResponses.Kept Kept() =>
        (Gatehouse.Gateway.Ai.AiResponses.Kept)Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<Gatehouse.Gateway.Ai.AiResponses>(Gateway.Host.Services).For("llm", new Gatehouse.Model.Config.AiResponsesConfig());

    /// <summary>The JSON answer of a request with <paramref name="key"/> (the test fails on any status but 200).</summary>
    public async Task<System.Text.Json.Nodes.JsonNode> OkAsync(TestKey key, HttpMethod method, string path, string? json = null)
    {
        using var response = await SendAsync(key, method, path, json);
        var body = await response.Content.ReadAsStringAsync();
        Xunit.Assert.True(response.StatusCode == System.Net.HttpStatusCode.OK, $"{method} {path}: {(int)response.StatusCode} {body}");
        return System.Text.Json.Nodes.JsonNode.Parse(body)!;
    }

    /// <summary>Waits for the application's calls to settle, then checks the tokens its first token limit counted.</summary>
    public async Task AssertTokensUsedAsync(long tokens)
    {
        var limiter = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<Gatehouse.Gateway.Ai.TokenLimiter>(Gateway.Host.Services);
        await Wait.UntilAsync(() => limiter.Read("gold", "app", 0).Reserved == 0, "the calls settled");
        Xunit.Assert.Equal((tokens, 0L), limiter.Read("gold", "app", 0));
    }

    /// <summary>The body of a successful call of <paramref name="json"/> (the test fails on any other status).</summary>
    public async Task<string> PostOkAsync(string json)
    {
        using var response = await Gateway.Client.SendAsync(Post(json));
        var body = await response.Content.ReadAsStringAsync();
        Xunit.Assert.True(response.IsSuccessStatusCode, body);
        return body;
    }

    /// <summary>
    /// Everything that arrived of a stream that the gateway must end by aborting it (after its error event);
    /// <paramref name="seen"/> is told the text so far after each read.
    /// </summary>
    public async Task<string> PostUntilAbortAsync(string json, string path = "/v1/chat/completions", Action<string>? seen = null)
    {
        using var response = await Gateway.Client.SendAsync(Post(json, path), HttpCompletionOption.ResponseHeadersRead);
        Xunit.Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        await using var stream = await response.Content.ReadAsStreamAsync();
        var text = new System.Text.StringBuilder();
        var buffer = new byte[4096];
        var aborted = false;
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer).AsTask().WaitAsync(TimeSpan.FromSeconds(10))) > 0)
            {
                text.Append(System.Text.Encoding.UTF8.GetString(buffer, 0, read));
                seen?.Invoke(text.ToString());
            }
        }
        catch (Exception e) when (e is IOException or HttpRequestException)
        {
            aborted = true;
        }

        Xunit.Assert.True(aborted, "the response must not end like a complete one");
        return text.ToString();
    }

    /// <summary>
    /// Starts <paramref name="providerCount"/> fake OpenAI providers (<c>p0</c>…) and <paramref name="anthropicCount"/>
    /// fake Anthropic ones (<c>a0</c>…) and <paramref name="azureCount"/> Azure OpenAI ones (<c>z0</c>…, with
    /// <paramref name="azureExtra"/> in each), and a gateway whose alias <c>fast</c> lists the OpenAI ones in order (or whose
    /// aliases are <paramref name="models"/>, YAML flow entries) and whose plan <c>gold</c> grants the model route (plus
    /// <paramref name="planExtra"/> in the plan).
    /// </summary>
    public static async Task<AiKit> StartAsync(int providerCount = 2, string timeout = "2s", string planExtra = "", ILoggerProvider? logs = null, TimeProvider? time = null, int anthropicCount = 0, string? models = null, int azureCount = 0, string azureExtra = "", string anthropicExtra = "", string providerExtra = "", string gatewayExtra = "", string aiExtra = "", TestKey? secondKey = null, TestKey? key = null, Func<Gatehouse.Gateway.Hosting.GatewayHostOptions, Gatehouse.Gateway.Hosting.GatewayHostOptions>? options = null)
    {
        var providers = new FakeProvider[providerCount];
        for (var i = 0; i < providerCount; i++)
        {
            providers[i] = await FakeProvider.StartAsync();
        }

        var anthropic = new FakeAnthropic[anthropicCount];
        for (var i = 0; i < anthropicCount; i++)
        {
            anthropic[i] = await FakeAnthropic.StartAsync();
        }

        var azure = new FakeProvider[azureCount];
        for (var i = 0; i < azureCount; i++)
        {
            azure[i] = await FakeProvider.StartAsync();
        }

        models ??= $$"""
                    fast: [{{string.Join(", ", providers.Select((_, i) => $"{{ provider: p{i}, model: model-{i} }}"))}}]
                    other: [ { provider: p0, model: other-0 } ]
            """;

        key ??= TestKey.New();
        var yaml = $$"""
            version: 1
            {{gatewayExtra}}
            services:
              llm:
                kind: ai
                ai:
                  providers:
            {{string.Concat(providers.Select((p, i) => $"          p{i}: {{ url: \"{p.BaseUrl}\", timeout: {timeout}, credential: {{ env: FAKE_PROVIDER_KEY, prefix: \"Bearer \" }}{providerExtra} }}\n"))}}
            {{string.Concat(anthropic.Select((p, i) => $"          a{i}: {{ type: anthropic, url: \"{p.BaseUrl}\", timeout: {timeout}, credential: {{ env: FAKE_PROVIDER_KEY, header: x-api-key }}{anthropicExtra} }}\n"))}}
            {{string.Concat(azure.Select((p, i) => $"          z{i}: {{ type: azure, url: \"{p.Root}\", timeout: {timeout}, credential: {{ env: FAKE_PROVIDER_KEY, header: api-key }}{azureExtra} }}\n"))}}
                  models:
            {{models}}
            {{aiExtra}}
            routes:
              ai: { path: "/v1/{**rest}", service: llm }
            plans:
              gold:
                include: [ { route: ai, access: read } ]
            {{planExtra}}
              none:
                include: []
            accounts:
              a: {}
            applications:
              app:
                account: a
                plan: gold
                keys: [ { sha256: "{{key.Sha256}}" } ]
            {{(secondKey is null ? "" : $"  app2: {{ account: a, plan: gold, keys: [ {{ sha256: \"{secondKey.Sha256}\" }} ] }}")}}
            """;
        var loaded = ConfigLoader.Load(yaml, Path.GetTempPath(), name => name == "FAKE_PROVIDER_KEY" ? ProviderSecret : null);
        if (!loaded.IsValid)
        {
            throw new InvalidOperationException("Test config is not valid:\n" + string.Join("\n", loaded.Errors) + "\n" + yaml);
        }

        var gateway = await TestGateway.StartAsync(loaded.Config!, logs: logs, time: time, options: options);
        return new AiKit(gateway, providers, anthropic, azure, key) { Config = loaded.Config! };
    }

    public async ValueTask DisposeAsync()
    {
        _leaving?.Dispose();
        await Gateway.DisposeAsync();
        foreach (var provider in Providers)
        {
            await provider.DisposeAsync();
        }

        foreach (var provider in Anthropic)
        {
            await provider.DisposeAsync();
        }

        foreach (var provider in Azure)
        {
            await provider.DisposeAsync();
        }
    }
}
