using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Tokens and cost of model calls (meter <c>Gatehouse.Ai</c>), recorded when a call ends, by plan, alias, provider and
/// provider model: names from the config, never request values, so the series stay few. Cost is the answering model's
/// <c>price</c> times its usage (recorded only where a price is configured).
/// </summary>
internal static class AiMetrics
{
    public const string MeterName = "Gatehouse.Ai";

    internal static readonly Meter Meter = new(MeterName);

    /// <summary>Tokens used, by <c>kind</c> (<c>prompt</c>, <c>completion</c>) and whether they were <c>estimated</c>.</summary>
    internal static readonly Counter<long> Tokens = Meter.CreateCounter<long>("gatehouse.ai.tokens", unit: "{token}", description: "Model tokens used, by plan, alias, provider model and kind");

    /// <summary>Cost of the tokens, in the currency of the configured prices.</summary>
    internal static readonly Counter<double> Cost = Meter.CreateCounter<double>("gatehouse.ai.cost", unit: "{currency}", description: "Cost of model calls from the configured prices, by plan, alias and provider model");

    /// <summary>Times a provider model began to be passed over after failing (<c>ai.cooldown</c>), by service, provider and model.</summary>
    internal static readonly Counter<long> Cooldowns = Meter.CreateCounter<long>("gatehouse.ai.cooldowns", unit: "{cooldown}", description: "Times a provider model began to be passed over after failing");

    /// <summary>Records one call's usage at the provider model that answered it.</summary>
    public static void Record(string? plan, string alias, AiModelTarget target, AiUsage usage)
    {
        if (!Tokens.Enabled && !Cost.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { "plan", plan ?? "" },
            { "alias", alias },
            { "provider", target.Provider.Name },
            { "model", target.Model },
        };
        var prompt = tags;
        prompt.Add("kind", "prompt");
        prompt.Add("estimated", usage.Estimated);
        Tokens.Add(usage.Prompt, prompt);
        var completion = tags;
        completion.Add("kind", "completion");
        completion.Add("estimated", usage.Estimated);
        Tokens.Add(usage.Completion, completion);
        if (target.Price is { } price)
        {
            Cost.Add(usage.Cost(price) / (double)Gatehouse.Model.Usage.AiCost.NanosPerUnit, tags);
        }
    }
}
