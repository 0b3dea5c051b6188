using Gatehouse.Model.Config;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>
/// A list of limits holds one limit per period and mode: two would be advertised under one policy name and the looser
/// one could never matter. A shadow limit beside an enforced one of the same period is the way to try a new value out,
/// so that pair is allowed. The keys of cross-node counting (<c>sync</c>, <c>lease</c>, <c>onEngineDown</c>) mean
/// nothing on a limit that counts per node, and a lease larger than the limit could never be granted whole.
/// </summary>
internal sealed class LimitRules : IListRules
{
    private static readonly string[] ClusterKeys = ["sync", "lease", "onEngineDown"];

    /// <summary>The first key of cross-node counting written on a limit's mapping; null when there is none.</summary>
    internal static string? ClusterKeyIn(YamlNode node) =>
        node is YamlMappingNode map ? ClusterKeys.FirstOrDefault(k => map.Children.ContainsKey(new YamlScalarNode(k))) : null;

    /// <summary>
    /// For a token or spend limit counted per node (<c>scope: node</c>): reports the first key of cross-node counting
    /// written on it, which would mean nothing there, and says so with true.
    /// </summary>
    internal static bool ReportsClusterKeyOnNodeLimit(LimitScope? scope, YamlNode node, string path, YamlBinder b)
    {
        if (scope != LimitScope.Node || ClusterKeyIn(node) is not { } written)
        {
            return false;
        }

        b.Error(YamlBinder.Join(path, written), node, $"'{written}' applies to 'scope: cluster' only; remove it, or make the limit 'scope: cluster'.");
        return true;
    }

    public IEnumerable<object> Check(IReadOnlyList<(object Value, YamlNode Node, string Path)> items, YamlBinder b)
    {
        var seen = new HashSet<(LimitPeriod, LimitMode)>();
        foreach (var (value, node, path) in items)
        {
            var limit = (LimitConfig)value;
            if (limit.Lease > limit.Requests)
            {
                b.Error(YamlBinder.Join(path, "lease"), node,
                    $"a lease of {limit.Lease} is more than the limit's {limit.Requests} requests; make it at most {limit.Requests} (smaller leases waste less budget across nodes).");
                continue;
            }

            if (limit.Scope == LimitScope.Node || limit.Mode == LimitMode.Shadow)
            {
                if (ClusterKeyIn(node) is { } written)
                {
                    b.Error(YamlBinder.Join(path, written), node, limit.Mode == LimitMode.Shadow
                        ? $"'{written}' applies to limits counted across nodes, and a shadow limit counts on each node; remove '{written}'."
                        : $"'{written}' applies to 'scope: cluster' only; remove it, or make the limit 'scope: cluster'.");
                    continue;
                }
            }

            if (limit.Mode == LimitMode.Shadow && limit.Scope == LimitScope.Cluster)
            {
                b.Error(YamlBinder.Join(path, "scope"), node, "a shadow limit counts on each node; remove 'scope: cluster' or make the limit 'mode: enforce'.");
                continue;
            }

            if (seen.Add((limit.Per, limit.Mode)))
            {
                yield return limit;
                continue;
            }

            var per = Units.CamelCase(limit.Per.ToString());
            b.Error(YamlBinder.Join(path, "per"), node,
                $"another {Units.CamelCase(limit.Mode.ToString())} limit in this list is also per {per}; keep one of them (or make one 'mode: shadow' to try it out).");
        }
    }
}

/// <summary>
/// A plan's token limits, checked as request limits are (<see cref="LimitRules"/>): the keys of cross-node counting mean
/// nothing on a limit that counts per node, and a lease larger than the limit could never be granted whole. Two token
/// limits of one period are allowed: they may count different tokens or different model aliases.
/// </summary>
internal sealed class TokenLimitRules : IListRules
{
    public IEnumerable<object> Check(IReadOnlyList<(object Value, YamlNode Node, string Path)> items, YamlBinder b)
    {
        foreach (var (value, node, path) in items)
        {
            var limit = (TokenLimitConfig)value;
            if (limit.Lease > limit.Tokens)
            {
                b.Error(YamlBinder.Join(path, "lease"), node,
                    $"a lease of {limit.Lease} tokens is more than the limit's {limit.Tokens}; make it at most {limit.Tokens} (smaller leases waste less budget across nodes).");
                continue;
            }

            if (LimitRules.ReportsClusterKeyOnNodeLimit(limit.Scope, node, path, b))
            {
                continue;
            }

            yield return limit;
        }
    }
}

/// <summary>
/// A plan's spend limits: an amount above zero, a lease no larger than it, and the cross-node keys only on a limit that
/// counts across nodes (as for <see cref="TokenLimitRules"/>).
/// </summary>
internal sealed class SpendLimitRules : IListRules
{
    public IEnumerable<object> Check(IReadOnlyList<(object Value, YamlNode Node, string Path)> items, YamlBinder b)
    {
        foreach (var (value, node, path) in items)
        {
            var limit = (SpendLimitConfig)value;
            if (!(limit.Amount > 0) || double.IsInfinity(limit.Amount))
            {
                b.Error(YamlBinder.Join(path, "amount"), node, "an amount is more than zero, in the currency of the models' prices, e.g. 'amount: 50'.");
                continue;
            }

            if (limit.Lease is { } lease && (!(lease > 0) || lease > limit.Amount))
            {
                b.Error(YamlBinder.Join(path, "lease"), node, $"a lease is more than zero and at most the limit's {limit.Amount}; make it smaller (smaller leases waste less budget across nodes).");
                continue;
            }

            if (LimitRules.ReportsClusterKeyOnNodeLimit(limit.Scope, node, path, b))
            {
                continue;
            }

            yield return limit;
        }
    }
}
