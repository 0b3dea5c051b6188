using Gatehouse.Model.Config;
using Gatehouse.Model.Validation;
using YamlDotNet.RepresentationModel;

namespace Gatehouse.Model.Loading;

/// <summary>
/// Binds a list of limits (<c>[{ requests: 100, per: minute }, { requests: 10000, per: day, mode: shadow }]</c>) and
/// checks it. Plan config calls <see cref="ReadLimits"/> for a plan's own limits and for each operation's.
/// </summary>
internal sealed class LimitsReader(YamlBinder b)
{
    /// <summary>The limits in <paramref name="node"/>; each problem is reported to the binder with its path, and the limit left out.</summary>
    public IReadOnlyList<LimitConfig> ReadLimits(YamlNode node, string path)
    {
        var limits = new List<LimitConfig>();
        var seen = new HashSet<(LimitPeriod, LimitMode)>();
        foreach (var (item, itemPath) in b.Sequence(node, path))
        {
            if (ReadLimit(item, itemPath) is not { } limit)
            {
                continue;
            }

            // Two limits of one period and mode in one list would both be advertised under the same policy name
            // and the looser one could never matter; a shadow limit next to an enforced one of the same period is
            // the way to try a new value out, so that pair is allowed.
            if (!seen.Add((limit.Per, limit.Mode)))
            {
                var per = Units.CamelCase(limit.Per.ToString());
                b.Error(YamlBinder.Join(itemPath, "per"), item,
                    $"another {Units.CamelCase(limit.Mode.ToString())} limit in this list is also per {per}; keep one of them (or make one 'mode: shadow' to try it out).");
                continue;
            }

            limits.Add(limit);
        }

        return limits;
    }

    private LimitConfig? ReadLimit(YamlNode node, string path)
    {
        var map = b.Mapping(node, path, "requests", "per", "mode");
        if (map is null)
        {
            return null;
        }

        int? requests = null;
        if (!map.TryGetValue("requests", out var r))
        {
            b.Error(YamlBinder.Join(path, "requests"), node, "'requests' is required: how many requests the limit allows per window, e.g. 'requests: 100'.");
        }
        else
        {
            requests = b.Int(r, YamlBinder.Join(path, "requests"), 1);
        }

        LimitPeriod? per = null;
        if (!map.TryGetValue("per", out var p))
        {
            b.Error(YamlBinder.Join(path, "per"), node, "'per' is required: one of second, minute (rate limits), hour, day, month (quotas).");
        }
        else
        {
            per = b.Enum<LimitPeriod>(p, YamlBinder.Join(path, "per"));
        }

        var mode = LimitMode.Enforce;
        if (map.TryGetValue("mode", out var m))
        {
            if (b.Enum<LimitMode>(m, YamlBinder.Join(path, "mode")) is not { } parsed)
            {
                return null;
            }

            mode = parsed;
        }

        return requests is { } n && per is { } period ? new LimitConfig { Requests = n, Per = period, Mode = mode } : null;
    }

    /// <summary>
    /// Test entry point until a config key uses limits: binds <paramref name="yaml"/> (a list of limits) as if it were
    /// found at <paramref name="path"/>.
    /// </summary>
    internal static (IReadOnlyList<LimitConfig> Limits, IReadOnlyList<ConfigError> Errors) Read(string yaml, string path, Func<string, string?>? environment = null)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        var binder = new YamlBinder(environment ?? (_ => null));
        var limits = new LimitsReader(binder).ReadLimits(stream.Documents[0].RootNode, path);
        return (limits, binder.Errors);
    }
}
