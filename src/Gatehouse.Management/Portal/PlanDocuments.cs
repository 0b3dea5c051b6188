using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Plans;

namespace Gatehouse.Management.Portal;

/// <summary>
/// The plans' OpenAPI documents of the current config: each service's document is read once per loaded config (from
/// its <c>openapi.file</c> or <c>openapi.url</c>, as the loader read it) and converted to 3.1; each plan's document is
/// built once per config from <see cref="PlanProjection"/>, so a page view costs a lookup.
/// </summary>
internal sealed class PlanDocuments(string gatewayUrl)
{
    private readonly ConditionalWeakTable<GatehouseConfig, Cache> _caches = [];

    /// <summary>Plans listed publicly: not hidden. (The anonymous catalogue is public too, though nobody subscribes to it.)</summary>
    public static bool IsListed(GatehouseConfig config, string plan) => config.Plans.TryGetValue(plan, out var p) && !p.Hidden;

    /// <summary>The document of <paramref name="plan"/>; null when the plan is unknown or hidden.</summary>
    public async Task<JsonObject?> GetAsync(GatehouseConfig config, string plan, CancellationToken cancellationToken)
    {
        if (!IsListed(config, plan))
        {
            return null;
        }

        var cache = _caches.GetValue(config, _ => new Cache());
        if (cache.Plans.TryGetValue(plan, out var built))
        {
            return built;
        }

        var operations = PlanProjection.Of(plan, config);
        foreach (var service in operations.Select(o => o.Service).OfType<string>().Distinct())
        {
            if (!cache.Sources.ContainsKey(service))
            {
                cache.Sources[service] = await PlanSources.ReadAsync(config.Services[service].Openapi, cancellationToken).ConfigureAwait(false);
            }
        }

        built = PlanOpenApi.Build(config, plan, operations, service => cache.Sources.GetValueOrDefault(service), gatewayUrl);
        cache.Plans[plan] = built;
        return built;
    }

    private sealed class Cache
    {
        public System.Collections.Concurrent.ConcurrentDictionary<string, JsonObject?> Sources { get; } = new(StringComparer.Ordinal);

        public System.Collections.Concurrent.ConcurrentDictionary<string, JsonObject> Plans { get; } = new(StringComparer.Ordinal);
    }
}
