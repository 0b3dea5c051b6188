using System.Collections.Frozen;
using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Ai;

/// <summary>The compiled, immutable form of an <c>ai</c> service: its providers and its aliases.</summary>
internal sealed class AiServiceModel
{
    public AiServiceModel(string name, AiServiceConfig config)
    {
        Name = name;
        Cooldown = config.Cooldown;
        Responses = config.Responses;
        var providers = config.Providers.ToDictionary(p => p.Key, p => new AiProvider(p.Key, p.Value), StringComparer.Ordinal);
        Aliases = config.Models.ToFrozenDictionary(m => m.Key, m => new AiAlias(m.Value, providers), StringComparer.Ordinal);
        AliasNames = [.. config.Models.Keys.Order(StringComparer.Ordinal)];
        ModelList = AiJson.ModelList(AliasNames);
        AnthropicModelList = AiJson.AnthropicModelList(AliasNames);
        Prompts = config.Prompts.ToFrozenDictionary(p => p.Value.OperationIdOf(name, p.Key), p => new AiPrompt(name, p.Key, p.Value), StringComparer.Ordinal);
    }

    /// <summary>Operation id → the prompt it publishes.</summary>
    public FrozenDictionary<string, AiPrompt> Prompts { get; }

    public string Name { get; }

    /// <summary>When a failing provider model is passed over.</summary>
    public AiCooldownConfig Cooldown { get; }

    /// <summary>Responses kept by the gateway; null when the Responses API is stateless.</summary>
    public AiResponsesConfig? Responses { get; }

    /// <summary>Alias → its provider models by priority and weight.</summary>
    public FrozenDictionary<string, AiAlias> Aliases { get; }

    public string[] AliasNames { get; }

    /// <summary>The body of <c>GET /v1/models</c>, made once.</summary>
    public byte[] ModelList { get; }

    /// <summary>The same in Anthropic's shape.</summary>
    public byte[] AnthropicModelList { get; }

    // The lists (OpenAI's, Anthropic's) of plans that allow only some aliases, made once per plan model (a plan's set is
    // made once per config).
    private readonly System.Runtime.CompilerServices.ConditionalWeakTable<FrozenSet<string>, byte[][]> _planLists = [];

    /// <summary>
    /// The body of <c>GET /v1/models</c> for a caller whose plan allows <paramref name="allowed"/> (null: every alias), in
    /// Anthropic's shape when <paramref name="anthropic"/>.
    /// </summary>
    public byte[] ModelListFor(FrozenSet<string>? allowed, bool anthropic = false)
    {
        if (allowed is null)
        {
            return anthropic ? AnthropicModelList : ModelList;
        }

        var lists = _planLists.GetValue(allowed, set =>
        {
            string[] names = [.. AliasNames.Where(set.Contains)];
            return [AiJson.ModelList(names), AiJson.AnthropicModelList(names)];
        });
        return lists[anthropic ? 1 : 0];
    }

    /// <summary>The aliases a caller whose plan allows <paramref name="allowed"/> may call, for messages.</summary>
    public IEnumerable<string> AliasNamesFor(FrozenSet<string>? allowed) => allowed is null ? AliasNames : AliasNames.Where(allowed.Contains);

    /// <summary>Whether a plan that allows <paramref name="allowed"/> (<c>plans.NAME.models</c>; null: every alias) may call <paramref name="alias"/>.</summary>
    public static bool Allows(FrozenSet<string>? allowed, string alias) => allowed is null || allowed.Contains(alias);
}
