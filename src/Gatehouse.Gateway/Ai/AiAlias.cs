using Gatehouse.Model.Config;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// A model alias, compiled: its provider models by priority, and within a priority the weights by which calls are shared.
/// <see cref="Order"/> gives one call's order of trial: priorities in turn, and within one, a weighted draw without
/// replacement, so that a call that the drawn entry fails moves to the others of that priority first.
/// </summary>
internal sealed class AiAlias
{
    private readonly AiModelTarget[] _targets;
    private readonly int[] _weights;
    private readonly int[] _groupStarts; // the index where each priority's entries begin; empty when none shares a priority

    public AiAlias(IReadOnlyList<AiModelTargetConfig> config, IReadOnlyDictionary<string, AiProvider> providers)
    {
        // Stable: entries of one priority keep their list order (OrderBy is a stable sort).
        var entries = config.Select((t, i) => (Target: t, Priority: t.Priority ?? i)).OrderBy(e => e.Priority).ToArray();
        _targets = [.. entries.Select(e => new AiModelTarget(providers[e.Target.Provider], e.Target.Model, e.Target.Price))];
        _weights = [.. entries.Select(e => Math.Max(1, e.Target.Weight))]; // checked at load; a config built in code may not be
        var starts = new List<int>();
        for (var i = 0; i < entries.Length; i++)
        {
            if (i == 0 || entries[i].Priority != entries[i - 1].Priority)
            {
                starts.Add(i);
            }
        }

        _groupStarts = starts.Count == entries.Length ? [] : [.. starts];
    }

    /// <summary>The provider models by priority, in list order within a priority (as written, before any draw).</summary>
    public IReadOnlyList<AiModelTarget> Targets => _targets;

    /// <summary>One call's order of trial. Without shared priorities it is the fixed order, with no allocation.</summary>
    public AiModelTarget[] Order(Random random)
    {
        if (_groupStarts.Length == 0)
        {
            return _targets;
        }

        var order = (AiModelTarget[])_targets.Clone();
        Span<int> weights = _weights.Length <= 64 ? stackalloc int[_weights.Length] : new int[_weights.Length];
        _weights.CopyTo(weights);
        for (var g = 0; g < _groupStarts.Length; g++)
        {
            var start = _groupStarts[g];
            var end = g + 1 < _groupStarts.Length ? _groupStarts[g + 1] : order.Length;
            for (var slot = start; slot < end - 1; slot++)
            {
                long total = 0;
                for (var i = slot; i < end; i++)
                {
                    total += weights[i];
                }

                var pick = random.NextInt64(total);
                var chosen = slot;
                for (var i = slot; i < end; i++)
                {
                    pick -= weights[i];
                    if (pick < 0)
                    {
                        chosen = i;
                        break;
                    }
                }

                (order[slot], order[chosen]) = (order[chosen], order[slot]);
                (weights[slot], weights[chosen]) = (weights[chosen], weights[slot]);
            }
        }

        return order;
    }
}
