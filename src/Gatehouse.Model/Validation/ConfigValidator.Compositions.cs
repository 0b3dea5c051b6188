using Gatehouse.Model.Compositions;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using System.Text.Json.Nodes;

namespace Gatehouse.Model.Validation;

/// <summary>Composition checks: steps, references, templates, cycles, and operation ids unique next to the services' ones.</summary>
public static partial class ConfigValidator
{
    private static void ValidateCompositions(GatehouseConfig config, OperationIndex operations, Incompleteness incomplete, List<ConfigError> errors)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (id, composition) in config.Compositions)
        {
            var found = new List<(string Path, string Message)>();
            CompositionCompiler.Compile(id, composition, config, operations, found, incomplete.MayBeLost);
            errors.AddRange(found.Select(e => new ConfigError(e.Path, e.Message)));

            var operationId = composition.OperationIdOf(id);
            var at = composition.Operation is null ? $"compositions.{id}" : $"compositions.{id}.operation";
            if (!OperationIds.IsValid(operationId))
            {
                errors.Add(new ConfigError(at, $"'{operationId}' is not an operation id; ids are 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit."));
            }
            else if (operations.TryGet(operationId, out var service, out _))
            {
                errors.Add(new ConfigError(at, $"operation id '{operationId}' is already an operation of service '{service}'; give the composition an 'operation' of its own."));
            }
            else if (!owners.TryAdd(operationId, id))
            {
                errors.Add(new ConfigError(at, $"operation id '{operationId}' is already composition '{owners[operationId]}''s; ids are unique."));
            }

            CheckOverlap(config, id, composition, errors);
            CheckInputs(id, composition, errors);
        }
    }

    /// <summary>Inputs: a path input names a parameter of the path; a schema is a JSON Schema object or boolean.</summary>
    private static void CheckInputs(string id, CompositionConfig composition, List<ConfigError> errors)
    {
        var parameters = composition.Path is not null && Routing.PathTemplate.TryParse(composition.Path, out _) is { } t ? t.ParameterNames.ToList() : null;
        foreach (var (name, input) in composition.Inputs)
        {
            var at = $"compositions.{id}.inputs.{name}";
            if (input.In == CompositionInputPlace.Path && parameters is not null && !parameters.Contains(name, StringComparer.Ordinal))
            {
                errors.Add(new ConfigError($"{at}.in", parameters.Count == 0
                    ? $"'{name}' is not a parameter of the path '{composition.Path}', which has none; read it from the query or a header ('in: query' or 'in: header')."
                    : $"'{name}' is not a parameter of the path '{composition.Path}'; name one of {string.Join(", ", parameters.Select(p => $"'{p}'"))}, or read it from the query or a header."));
            }

            if (input.Schema is not null and not JsonObject && !(input.Schema is JsonValue v && v.TryGetValue<bool>(out _)))
            {
                errors.Add(new ConfigError($"{at}.schema", "a schema is a JSON Schema object ({ type: integer, minimum: 1 }) or true/false."));
            }
        }
    }

    /// <summary>A composition is a route: it must not match the same requests as a route or an earlier composition.</summary>
    private static void CheckOverlap(GatehouseConfig config, string id, CompositionConfig composition, List<ConfigError> errors)
    {
        static string? Key(string? host, string? path) =>
            path is not null && Routing.PathTemplate.TryParse(path, out _) is { } t ? (host?.ToLowerInvariant() ?? "*") + " " + t.ShapeKey : null;

        if (Key(composition.Host, composition.Path) is not { } key)
        {
            return;
        }

        var method = composition.Method.ToUpperInvariant();
        var route = config.Routes.FirstOrDefault(r => Key(r.Value.Host, r.Value.Path) == key
            && (r.Value.Methods.Count == 0 || r.Value.Methods.Any(m => m.Equals(method, StringComparison.OrdinalIgnoreCase))));
        var other = config.Compositions.TakeWhile(c => c.Key != id)
            .FirstOrDefault(c => Key(c.Value.Host, c.Value.Path) == key && c.Value.Method.Equals(method, StringComparison.OrdinalIgnoreCase));
        if (route.Key is not null || other.Key is not null)
        {
            var clash = route.Key is not null ? $"route '{route.Key}'" : $"composition '{other.Key}'";
            errors.Add(new ConfigError($"compositions.{id}.path", $"{method} {composition.Path} matches the same requests as {clash}; change the path, host or method of one of them."));
        }
    }

    /// <summary>Whether <paramref name="id"/> is a composition's operation id.</summary>
    private static bool IsCompositionOperation(GatehouseConfig config, string id) =>
        config.Compositions.Any(c => c.Value.OperationIdOf(c.Key) == id);
}
