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

    /// <summary>Token limits take the cross-node keys of request limits, with the same checks.</summary>
    [Theory]
    [InlineData("{ tokens: 1000, per: day, sync: fast }", null, null)]
    [InlineData("{ tokens: 1000, per: day, lease: 100, onEngineDown: deny }", null, null)]
    [InlineData("{ tokens: 1000, per: day, lease: 1001 }", "plans.p.tokenLimits[0].lease", "more than the limit's 1000")]
    [InlineData("{ tokens: 1000, per: day, scope: node, sync: fast }", "plans.p.tokenLimits[0].sync", "applies to 'scope: cluster' only")]
    [InlineData("{ tokens: 1000, per: day, scope: node, lease: 10 }", "plans.p.tokenLimits[0].lease", "applies to 'scope: cluster' only")]
    public void TokenLimit_ClusterKeys_AreCheckedAsForRequestLimits(string limit, string? path, string? message)
    {
        var result = LoadPlan($"tokenLimits: [ {limit} ]");

        if (path is null)
        {
            Assert.True(result.IsValid, string.Join("\n", result.Errors));
            Assert.Equal(limit.Contains("fast", StringComparison.Ordinal) ? LimitSync.Fast : LimitSync.Strict, Assert.Single(result.Config!.Plans["p"].TokenLimits).Sync);
            return;
        }

        AssertOneError(result, path, message!);
    }

    /// <summary>A plan's models and its token limits' model name aliases: a typo would allow or limit nothing, silently.</summary>
    [Theory]
    [InlineData("models: [ fast ]", null, null)]
    [InlineData("models: []", null, null)]
    [InlineData("models: [ fsat ]", "plans.p.models[0]", "'fsat' is not a model alias of any ai service. Did you mean 'fast'?")]
    [InlineData("tokenLimits: [ { tokens: 10, per: day, model: fats } ]", "plans.p.tokenLimits[0].model", "so this limit would never apply. Did you mean 'fast'?")]
    public void PlanModelsAndTokenLimitModels_MustBeAliases(string planLine, string? path, string? message)
    {
        var result = LoadPlan(planLine);

        if (path is null)
        {
            Assert.True(result.IsValid, string.Join("\n", result.Errors));
            Assert.Equal(planLine.Contains("fast", StringComparison.Ordinal) ? ["fast"] : [], result.Config!.Plans["p"].Models);
            return;
        }

        AssertOneError(result, path, message!);
    }

    /// <summary>Spend limits: an amount above zero, a lease within it, an alias, and only priced models under them.</summary>
    [Theory]
    [InlineData("spendLimits: [ { amount: 50, per: month } ]", null, null)]
    [InlineData("spendLimits: [ { amount: 0, per: month } ]", "plans.p.spendLimits[0].amount", "more than zero")]
    [InlineData("spendLimits: [ { amount: 5, per: day, lease: 6 } ]", "plans.p.spendLimits[0].lease", "at most the limit's 5")]
    [InlineData("spendLimits: [ { amount: 5, per: day, model: fsat } ]", "plans.p.spendLimits[0].model", "Did you mean 'fast'?")]
    [InlineData("spendLimits: [ { amount: 5, per: day, model: free } ]", "plans.p.spendLimits[0]", "free → p/m have none, so they would be free under this limit")]
    [InlineData("spendLimits: [ { amount: 5, per: day } ]", "plans.p.spendLimits[0]", "free → p/m have none")]
    [InlineData("models: [ fast ], spendLimits: [ { amount: 5, per: day } ]", null, null)]
    public void SpendLimits_AreChecked(string planLine, string? path, string? message)
    {
        var result = LoadPlan(planLine, extraAlias: planLine.Contains("model", StringComparison.Ordinal) || path is not null ? "free: [ { provider: p, model: m } ]" : null);

        if (path is null)
        {
            Assert.True(result.IsValid, string.Join("\n", result.Errors));
            var limit = Assert.Single(result.Config!.Plans["p"].SpendLimits).AsTokenLimit();
            Assert.True(limit.CountsCost);
            Assert.Equal(planLine.Contains("50", StringComparison.Ordinal) ? 50_000_000_000L : 5_000_000_000L, limit.Tokens);
            return;
        }

        AssertOneError(result, path, message!);
    }

    // A config of one ai service with the alias 'fast', and plan 'p' granting its route with PLAN's keys.
    private static ConfigLoadResult LoadPlan(string plan, string? extraAlias = null) => ConfigLoader.Load($$"""
        version: 1
        services:
          llm: { kind: ai, ai: { providers: { p: { url: "http://127.0.0.1:9/v1" } }, models: { fast: [ { provider: p, model: m, price: { prompt: 1, completion: 2 } } ]{{(extraAlias is null ? "" : ", " + extraAlias)}} } } }
        routes:
          ai: { path: "/v1/{**rest}", service: llm }
        plans:
          p: { include: [ { route: ai } ], {{plan}} }
        """, Path.GetTempPath(), _ => null);

    private static void AssertOneError(ConfigLoadResult result, string path, string message)
    {
        var error = Assert.Single(result.Errors);
        Assert.Equal(path, error.Path);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnthropicProvider_Binds_WithItsKeyHeaderAndVersion()
    {
        var result = Load("""
            kind: ai
            ai:
              providers:
                claude: { type: anthropic, url: https://api.anthropic.com/v1, apiVersion: "2023-06-01", credential: { env: ANTHROPIC_API_KEY, header: x-api-key } }
              models:
                fast: [ { provider: claude, model: claude-sonnet-4-5 } ]
            """, name => name == "ANTHROPIC_API_KEY" ? "sk-ant-secret" : null);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var provider = result.Config!.Services["llm"].Ai!.Providers["claude"];
        Assert.Equal((AiProviderType.Anthropic, "2023-06-01", "sk-ant-secret"), (provider.Type, provider.ApiVersion, provider.Credential!.Value));
        Assert.DoesNotContain("sk-ant-secret", result.Config.Services["llm"].ToString());
    }

    [Fact]
    public void AzureProvider_Binds_WithApiKeyHeaderAndDeployments()
    {
        var result = Load("""
            kind: ai
            ai:
              providers:
                azure: { type: azure, url: https://my-resource.openai.azure.com, apiVersion: "2024-10-21", credential: { env: AZURE_OPENAI_API_KEY, header: api-key } }
              models:
                fast: [ { provider: azure, model: gpt-4o-mini.prod_1 } ]
            """, name => name == "AZURE_OPENAI_API_KEY" ? "azure-secret" : null);

        Assert.True(result.IsValid, string.Join("\n", result.Errors));
        var provider = result.Config!.Services["llm"].Ai!.Providers["azure"];
        Assert.Equal((AiProviderType.Azure, "2024-10-21", "azure-secret"), (provider.Type, provider.ApiVersion, provider.Credential!.Value));
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
    [InlineData("kind: ai\nai: { providers: { p: { url: http://x/v1, apiVersion: '2024-10-21' } }, models: { m: [ { provider: p, model: x } ] } }", "services.llm.ai.providers.p.apiVersion", "remove 'apiVersion'")]
    [InlineData("kind: ai\nai: { providers: { p: { type: anthropic, url: http://x/v1, credential: { env: K, prefix: 'Bearer ' } } }, models: { m: [ { provider: p, model: x } ] } }", "services.llm.ai.providers.p.credential.header", "header: x-api-key")]
    [InlineData("kind: ai\nai: { providers: { p: { type: azure, url: http://x, responsesApi: false } }, models: { m: [ { provider: p, model: x } ] } }", "services.llm.ai.providers.p.responsesApi", "for 'type: openai' servers")]
    [InlineData("kind: ai\nai: { providers: { p: { url: http://x/v1, promptCache: true } }, models: { m: [ { provider: p, model: x } ] } }", "services.llm.ai.providers.p.promptCache", "for 'type: anthropic'")]
    [InlineData("kind: ai\nai: { providers: { p: { type: anthropic, url: http://x/v1, apiVersion: 'a b' } }, models: { m: [ { provider: p, model: x } ] } }", "services.llm.ai.providers.p.apiVersion", "'2023-06-01'")]
    [InlineData("kind: ai\nai: { providers: { p: { type: azure, url: http://x, credential: { env: K, header: x-api-key } } }, models: { m: [ { provider: p, model: x } ] } }", "services.llm.ai.providers.p.credential.header", "header: api-key")]
    [InlineData("kind: ai\nai: { providers: { p: { type: azure, url: http://x } }, models: { m: [ { provider: p, model: '../x?y=1' } ] } }", "services.llm.ai.models.m[0].model", "not an Azure deployment name")]
    [InlineData("kind: ai\nai: { providers: { p: { url: http://x/v1 } }, models: { m: [ { provider: p, model: x, priority: 0 }, { provider: p, model: y } ] } }", "services.llm.ai.models.m[1].priority", "must too")]
    [InlineData("kind: ai\nai: { providers: { p: { url: http://x/v1 } }, models: { m: [ { provider: p, model: x, weight: 3 }, { provider: p, model: y } ] } }", "services.llm.ai.models.m[0].weight", "same 'priority'")]
    [InlineData("kind: ai\nai: { providers: { p: { url: http://x/v1 } }, models: { m: [ { provider: p, model: x, priority: 0, weight: 0 }, { provider: p, model: y, priority: 0 } ] } }", "services.llm.ai.models.m[0].weight", "from 1 to 1000000")]
    public void AiService_Mistake_ErrorAtItsPath(string service, string path, string message)
    {
        var result = Load(service, _ => "a-key"); // keys are set, so that their other mistakes show

        Assert.Contains(result.Errors, e => e.Path == path && e.Message.Contains(message, StringComparison.Ordinal));
    }
}
