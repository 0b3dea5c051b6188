using Gatehouse.Model.Config;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>
/// A list of limits holds one limit per period and mode: two would be advertised under one policy name and the looser
/// one could never matter. A shadow limit beside an enforced one of the same period is the way to try a new value out,
/// so that pair is allowed.
/// </summary>
internal sealed class LimitRules : IListRules
{
    public IEnumerable<object> Check(IReadOnlyList<(object Value, YamlNode Node, string Path)> items, YamlBinder b)
    {
        var seen = new HashSet<(LimitPeriod, LimitMode)>();
        foreach (var (value, node, path) in items)
        {
            var limit = (LimitConfig)value;
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
