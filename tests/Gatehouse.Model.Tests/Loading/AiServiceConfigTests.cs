using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;

namespace Gatehouse.Model.Tests.Loading;

/// <summary>Services of kind ai: they bind, their keys are read from the node's environment, and mistakes are errors at their path.</summary>
[Trait("Issue", "22")]
public sealed class AiServiceConfigTests
{
    private static ConfigLoadResult Load(string service, Func<string, string?>? env = null, bool readSecrets = true) => ConfigLoader.Load($$"""
        version: 1
        services:
          llm:
        {{string.Join('\n', service.Split('\n').Select(l => "    " + l))}}
        routes:
          ai: { path: "/v1/{**rest}", service: llm }
        plans:
          p:
            include: [ { route: ai, access: read } ]
            tokenLimits: [ { tokens: 1000, per: day, count: completion, model: fast } ]
        """, Path.GetTempPath(), env ?? (_ => null), readSecrets);

    [Fact]
    public void AiService_Binds_WithProvidersAliasesAndTheKeyFromTheEnvironment()
    {
        var result = Load("""
            kind: ai
            ai:
              providers:
                openai: { url: https://api.openai.com/v1, credential: { env: OPENAI_API_KEY, prefix: "Bearer " } }
                local: { type: openai, url: http://127.0.0.1:11434/v1, timeout: 20s }
              models:
                fast: [ { provider: openai, model: gpt-4o-mini }, { provider: local, model: llama3 } ]
            """, name => name == "OPENAI_API_KEY" ? "sk-secret" : null);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var ai = result.Config!.Services["llm"].Ai!;
        Assert.Equal(ServiceKind.Ai, result.Config.Services["llm"].Kind);
        Assert.Equal("Bearer sk-secret", ai.Providers["openai"].Credential!.Value);
        Assert.Equal("OPENAI_API_KEY", ai.Providers["openai"].Credential!.Env);
        Assert.Equal(TimeSpan.FromSeconds(20), ai.Providers["local"].Timeout);
        Assert.Equal(["gpt-4o-mini", "llama3"], ai.Models["fast"].Select(m => m.Model).ToArray());
        Assert.DoesNotContain("sk-secret", result.Config.Services["llm"].ToString());
        var limit = Assert.Single(result.Config.Plans["p"].TokenLimits);
        Assert.Equal((1000L, LimitPeriod.Day, TokenCount.Completion, "fast"), (limit.Tokens, limit.Per, limit.Count, limit.Model));
    }

    [Fact]
    public void AiService_KeyUnsetOnTheNode_ErrorAtTheCredential()
    {
        var result = Load("""
            kind: ai
            ai:
              providers: { openai: { url: https://api.openai.com/v1, credential: { env: OPENAI_API_KEY } } }
              models: { fast: [ { provider: openai, model: gpt-4o-mini } ] }
            """);

        Assert.Contains(result.Errors, e => e.Path == "services.llm.ai.providers.openai.credential.env" && e.Message.Contains("not set", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("kind: ai", "services.llm.ai", "needs 'ai'")]
    [InlineData("ai: { providers: { p: { url: http://x/v1 } }, models: { m: [ { provider: p, model: x } ] } }", "services.llm.ai", "kind: ai")]
    [InlineData("kind: ai\ntargets: [http://127.0.0.1:1]\nai: { providers: { p: { url: http://x/v1 } }, models: { m: [ { provider: p, model: x } ] } }", "services.llm.targets", "no 'targets'")]
    [InlineData("kind: ai\nai: { providers: { p: { url: http://x/v1 } }, models: { m: [ { provider: q, model: x } ] } }", "services.llm.ai.models.m[0].provider", "not a provider")]
    [InlineData("kind: ai\nai: { providers: { p: { url: ftp://x/v1 } }, models: { m: [ { provider: p, model: x } ] } }", "services.llm.ai.providers.p.url", "http(s)")]
    [InlineData("kind: ai\nai: { providers: { p: { url: http://x/v1 } }, models: { m: [] } }", "services.llm.ai.models.m", "lists no provider model")]
    public void AiService_Mistake_ErrorAtItsPath(string service, string path, string message)
    {
        var result = Load(service);

        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }
}
