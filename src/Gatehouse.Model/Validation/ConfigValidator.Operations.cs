using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Gatehouse.Model.Routing;

namespace Gatehouse.Model.Validation;

/// <summary>Operation checks: document sources, publish base paths, methods and paths, and global uniqueness of ids.</summary>
public static partial class ConfigValidator
{
    private static OperationIndex ValidateOperations(GatehouseConfig config, ExpansionInfo? expansion, List<ConfigError> errors)
    {
        var owners = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, service) in config.Services)
        {
            var path = $"services.{name}";
            if (service.Openapi is { } openApi && (openApi.File is null) == (openApi.Url is null))
            {
                errors.Add(new ConfigError($"{path}.openapi", openApi.File is null
                    ? "'openapi' needs 'file' (a document next to the config) or 'url' (where the service serves its document)."
                    : "'openapi' has both 'file' and 'url'; keep one."));
            }

            if (service.Publish is { } publish && OperationResolver.PublishedPath(publish.BasePath, "/") is null)
            {
                errors.Add(new ConfigError($"{path}.publish.basePath", $"'{publish.BasePath}' is not a base path; write literal segments such as '/api', or '/' for none."));
            }

            var shapes = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (id, operation) in service.Operations)
            {
                var at = expansion?.OperationPath(name, id) ?? $"{path}.operations.{id}";
                var imported = expansion?.ImportedOperations.ContainsKey((name, id)) == true;
                string Key(string key) => imported ? at : $"{at}.{key}";

                if (!OperationIds.IsValid(id))
                {
                    errors.Add(new ConfigError(at, $"'{id}' is not an operation id; ids are 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit."));
                }

                var method = operation.Method.ToUpperInvariant();
                if (Array.IndexOf(KnownMethods, method) < 0)
                {
                    errors.Add(new ConfigError(Key("method"), $"'{operation.Method}' is not an HTTP method; use one of {string.Join(", ", KnownMethods)}."));
                }

                var template = PathTemplate.TryParse(operation.Path, out var pathError);
                if (template is null)
                {
                    errors.Add(new ConfigError(Key("path"), pathError!));
                }
                else if (!shapes.TryAdd($"{method} {template.ShapeKey}", id))
                {
                    var other = shapes[$"{method} {template.ShapeKey}"];
                    errors.Add(new ConfigError(at, $"operation '{id}' has the same method and path as operation '{other}' ({method} {operation.Path}); "
                        + $"to change an imported operation, declare it under its own id ('{other}'), or change the method or path of one of them."));
                }

                if (owners.TryGetValue(id, out var first))
                {
                    var where = expansion?.DescribeOperation(first, id) ?? $"services.{first}.operations.{id}";
                    errors.Add(new ConfigError(at, $"operation id '{id}' is also defined by service '{first}' ({where}); operation ids are global, so rename one of them."));
                }
                else
                {
                    owners[id] = name;
                }
            }
        }

        return OperationIndex.Build(config);
    }
}
