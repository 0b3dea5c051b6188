using Gatehouse.Model.Config;
using Gatehouse.Model.Loading;
using Gatehouse.Model.Routing;
using Gatehouse.Model.Validation;

namespace Gatehouse.Model.Operations;

/// <summary>
/// Expands a bound config before it is validated: imports each service's OpenAPI document, merges the declared
/// operations into the imported ones, generates the routes of <c>publish</c> blocks, and fills in the service,
/// methods, path and upstream path of routes bound to an operation. Validation then sees every route, generated
/// or written, so its duplicate and reference checks cover them all.
/// </summary>
internal static class OperationResolver
{
    public sealed record Result(GatehouseConfig Config, ExpansionInfo Info, IReadOnlyList<ConfigError> Errors);

    public static Result Resolve(GatehouseConfig config, IReadOnlyDictionary<string, ServiceOperationSyntax> syntax)
    {
        var info = new ExpansionInfo();
        var errors = new List<ConfigError>();
        var documents = LoadDocuments(config, syntax, info, errors);

        var services = new Dictionary<string, ServiceConfig>(StringComparer.Ordinal);
        foreach (var (name, service) in config.Services)
        {
            syntax.TryGetValue(name, out var written);
            documents.TryGetValue(name, out var document);
            var operations = Import(name, service, document, written, info, errors);
            Declare(name, service, written, operations, info, errors);
            Prompts(name, service, operations, errors);
            services[name] = service with { Operations = operations };
        }

        config = config with { Services = services };
        var index = OperationIndex.Build(config);
        var routes = new Dictionary<string, RouteConfig>(StringComparer.Ordinal);
        foreach (var (id, route) in config.Routes)
        {
            routes[id] = Bind(route, index);
        }

        foreach (var (name, service) in services)
        {
            Publish(name, service, syntax.GetValueOrDefault(name), config.Routes, routes, info, errors);
        }

        return new Result(config with { Routes = routes }, info, errors);
    }

    /// <summary>Reads every document; the URLs are fetched in parallel, so a config with several costs one round of waiting.</summary>
    private static Dictionary<string, ImportedDocument> LoadDocuments(GatehouseConfig config, IReadOnlyDictionary<string, ServiceOperationSyntax> syntax, ExpansionInfo info, List<ConfigError> errors)
    {
        var documents = new Dictionary<string, ImportedDocument>(StringComparer.Ordinal);
        var fetches = new List<(string Service, Task<(ImportedDocument? Document, string? Error)> Fetch)>();
        foreach (var (name, service) in config.Services)
        {
            // Both or neither of file and url is reported by validation; there is nothing sensible to import then.
            if (service.Openapi is not { } source || (source.File is null) == (source.Url is null))
            {
                continue;
            }

            if (source.File is { } file)
            {
                if (OpenApiSources.ReadFile(file, out var error) is { } document)
                {
                    documents[name] = document;
                }
                else
                {
                    Fail(name, "file", error!);
                }
            }
            else
            {
                fetches.Add((name, OpenApiSources.FetchAsync(source.Url!)));
            }
        }

        if (fetches.Count > 0)
        {
            // The loader is synchronous (the CLI and the file watcher call it on their own threads); each fetch is time-bounded.
            Task.WhenAll(fetches.Select(f => f.Fetch)).GetAwaiter().GetResult();
            foreach (var (name, fetch) in fetches)
            {
                var (document, error) = fetch.Result;
                if (document is not null)
                {
                    documents[name] = document;
                }
                else
                {
                    Fail(name, "url", error!);
                }
            }
        }

        return documents;

        void Fail(string service, string key, string message)
        {
            info.UnreadServices.Add(service);
            errors.Add(new ConfigError($"services.{service}.openapi.{key}", message, syntax.GetValueOrDefault(service)?.OpenApiLine));
        }
    }

    private static Dictionary<string, OperationConfig> Import(string name, ServiceConfig service, ImportedDocument? document, ServiceOperationSyntax? written, ExpansionInfo info, List<ConfigError> errors)
    {
        var operations = new Dictionary<string, OperationConfig>(StringComparer.Ordinal);
        if (document is null)
        {
            // A config built in code may already carry resolved operations; keep them.
            foreach (var (id, operation) in service.Operations)
            {
                operations[id] = operation;
            }

            return operations;
        }

        var key = service.Openapi!.File is null ? "url" : "file";
        var where = $"services.{name}.openapi.{key}";
        var source = service.Openapi.File is { } f ? $"'{f}'" : service.Openapi.Url!;
        foreach (var result in OperationImport.Convert(name, document, source))
        {
            if (result.Operation is null)
            {
                Fail(result.Id, result.Fix is null ? result.Problem! : $"{result.Problem} {result.Fix}");
                continue;
            }

            operations[result.Id] = result.Operation;
            info.ImportedOperations[(name, result.Id)] = (where, result.Description);
        }

        return operations;

        void Fail(string id, string message)
        {
            info.LostOperations.Add(id);
            errors.Add(new ConfigError(where, message, written?.OpenApiLine));
        }
    }

    /// <summary>An <c>ai</c> service's prompts are its operations (docs/ai.md), so routes, plans and documents treat them as any other.</summary>
    private static void Prompts(string name, ServiceConfig service, Dictionary<string, OperationConfig> operations, List<ConfigError> errors)
    {
        foreach (var (prompt, config) in service.Ai?.Prompts ?? new Dictionary<string, AiPromptConfig>())
        {
            var id = config.OperationIdOf(name, prompt);
            if (!operations.TryAdd(id, config.AsOperation(prompt)))
            {
                errors.Add(new ConfigError($"services.{name}.ai.prompts.{prompt}.operation", $"the operation id '{id}' is already an operation of this service; give the prompt another 'operation'."));
            }
        }
    }

    private static void Declare(string name, ServiceConfig service, ServiceOperationSyntax? written, Dictionary<string, OperationConfig> operations, ExpansionInfo info, List<ConfigError> errors)
    {
        foreach (var d in written?.Declared ?? [])
        {
            OperationConfig merged;
            if (operations.TryGetValue(d.Id, out var imported) && info.ImportedOperations.Remove((name, d.Id)))
            {
                merged = imported with
                {
                    Method = d.Method ?? imported.Method,
                    Path = d.Path ?? imported.Path,
                    Tags = d.Tags ?? imported.Tags,
                };
            }
            else if (d.Method is null || d.Path is null)
            {
                // When the document could not be read, this may well be an override of one of its operations;
                // the document's error says what to fix.
                if (!info.UnreadServices.Contains(name) && !info.LostOperations.Contains(d.Id))
                {
                    var missing = d.Method is null ? "method" : "path";
                    var why = service.Openapi is null
                        ? "the service has no OpenAPI document to take it from"
                        : $"the service's OpenAPI document has no operation '{d.Id}'";
                    errors.Add(new ConfigError($"{d.ConfigPath}.{missing}", $"'{missing}' is required: {why}.", d.Line));
                }

                continue;
            }
            else
            {
                merged = new OperationConfig { Method = d.Method, Path = d.Path, Tags = d.Tags ?? [] };
            }

            merged = d.Access is { } access ? merged with { Access = access } : merged;
            operations[d.Id] = d.RequireScopes is { } scopes ? merged with { RequireScopes = scopes } : merged;
        }
    }

    private static RouteConfig Bind(RouteConfig route, OperationIndex index)
    {
        if (route.Operation is not { } id || !index.TryGet(id, out var service, out var operation))
        {
            return route; // an unknown operation is reported by validation, with the ids that are close
        }

        return route with
        {
            Service = route.Service ?? service,
            Methods = route.Methods.Count > 0 ? route.Methods : [operation.Method],
            Path = route.Path ?? operation.Path,
            UpstreamPath = route.UpstreamPath ?? operation.Path,
        };
    }

    private static void Publish(string name, ServiceConfig service, ServiceOperationSyntax? written, IReadOnlyDictionary<string, RouteConfig> writtenRoutes, Dictionary<string, RouteConfig> routes, ExpansionInfo info, List<ConfigError> errors)
    {
        if (service.Publish is not { } publish || PublishedPath(publish.BasePath, "/") is null)
        {
            return; // an unusable basePath is reported by validation
        }

        var where = $"services.{name}.publish";
        foreach (var (id, operation) in service.Operations)
        {
            if (routes.ContainsKey(id) && !writtenRoutes.ContainsKey(id))
            {
                continue; // another service has an operation with this id, which validation reports
            }

            if (writtenRoutes.ContainsKey(id))
            {
                errors.Add(new ConfigError(where, $"publishing operation '{id}' makes a route with id '{id}', and a route with that id is written under 'routes'; rename that route.", written?.PublishLine));
                continue;
            }

            if (PathTemplate.TryParse(operation.Path, out _) is null)
            {
                continue; // reported by validation at the operation
            }

            routes[id] = new RouteConfig
            {
                Operation = id,
                Service = name,
                Methods = [operation.Method],
                Path = PublishedPath(publish.BasePath, operation.Path),
                UpstreamPath = operation.Path,
            };
            info.GeneratedRoutes[id] = where;
        }
    }

    /// <summary>
    /// <paramref name="basePath"/> + <paramref name="path"/> (<c>/api</c> + <c>/users/{id}</c>), or null when the base
    /// path is not a literal path. A base path of <c>/</c> adds nothing.
    /// </summary>
    public static string? PublishedPath(string basePath, string path)
    {
        if (PathTemplate.TryParse(basePath, out _) is not { } template || template.Segments.Any(s => s.Kind != SegmentKind.Literal))
        {
            return null;
        }

        var prefix = basePath.TrimEnd('/');
        return prefix.Length == 0 ? path : path == "/" ? prefix : prefix + path;
    }
}
