using Gatehouse.Model.Config;

namespace Gatehouse.Model.Access;

/// <summary>
/// What one plan grants, resolved from its <c>include</c> and <c>omit</c> rules: access flags per operation id and per
/// route that is bound to no operation. Anything absent is not granted.
/// </summary>
public sealed record PlanGrants(IReadOnlyDictionary<string, AccessFlags> Operations, IReadOnlyDictionary<string, AccessFlags> Routes)
{
    /// <summary>
    /// Resolves <paramref name="plan"/> against the operations and routes of <paramref name="config"/> (loaded, so
    /// every service carries its operations). A rule that selects nothing selects nothing here; validation reports it.
    /// </summary>
    public static PlanGrants Resolve(PlanConfig plan, GatehouseConfig config)
    {
        var operations = new Dictionary<string, AccessFlags>(StringComparer.Ordinal);
        var routes = new Dictionary<string, AccessFlags>(StringComparer.Ordinal);
        Apply(plan.Include, config, operations, routes, add: true);
        Apply(plan.Omit, config, operations, routes, add: false);
        return new PlanGrants(
            operations.Where(e => e.Value != AccessFlags.None).ToDictionary(StringComparer.Ordinal),
            routes.Where(e => e.Value != AccessFlags.None).ToDictionary(StringComparer.Ordinal));
    }

    /// <summary>The operation ids and unbound route ids that <paramref name="rule"/> selects.</summary>
    public static (IEnumerable<(string Id, OperationConfig Operation)> Operations, IEnumerable<string> Routes) Select(GrantConfig rule, GatehouseConfig config)
    {
        // Compositions are operations too: by their operation id, tags and public path.
        var compositions = config.Compositions.Select(c => KeyValuePair.Create(c.Value.OperationIdOf(c.Key), c.Value.AsOperation()));
        var operations = config.Services.Values.SelectMany(s => s.Operations).Concat(compositions).Where(o => rule switch
        {
            { Operation: { } id } => o.Key == id,
            { Tag: { } tag } => o.Value.Tags.Contains(tag, StringComparer.Ordinal),
            { Path: { } pattern } => PathPattern.Matches(pattern, o.Value.Path),
            _ => false,
        }).Select(o => (o.Key, o.Value));

        var routes = config.Routes.Where(r => r.Value.Operation is null && rule switch
        {
            { Route: { } id } => r.Key == id,
            { Path: { } pattern } => r.Value.Path is { } path && PathPattern.Matches(pattern, path),
            _ => false,
        }).Select(r => r.Key);

        return (operations, routes);
    }

    private static void Apply(IReadOnlyList<GrantConfig> rules, GatehouseConfig config, Dictionary<string, AccessFlags> operations, Dictionary<string, AccessFlags> routes, bool add)
    {
        foreach (var rule in rules)
        {
            var flags = rule.Access.ToFlags();
            var (selectedOperations, selectedRoutes) = Select(rule, config);
            foreach (var (id, operation) in selectedOperations)
            {
                // An operation has one access class: a rule grants (or omits) it only for that class.
                var own = operation.Access.ToFlag() & flags;
                operations[id] = add ? operations.GetValueOrDefault(id) | own : operations.GetValueOrDefault(id) & ~own;
            }

            foreach (var id in selectedRoutes)
            {
                routes[id] = add ? routes.GetValueOrDefault(id) | flags : routes.GetValueOrDefault(id) & ~flags;
            }
        }
    }
}
