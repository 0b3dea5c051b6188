using Gatehouse.Model.Access;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;

namespace Gatehouse.Model.Plans;

/// <summary>
/// What a plan grants, as public operations: the one projection that the portal's catalogue, the plan's OpenAPI
/// document (<see cref="PlanOpenApi"/>) and, later, the plan's MCP tool list are made from. It is built on
/// <see cref="PlanGrants"/>, the same resolution the gateway compiles its grant tables from, so what a document shows
/// and what the gateway (or the authorize API) allows cannot disagree; a test checks both against each other.
/// </summary>
public static class PlanProjection
{
    /// <summary>The methods a route bound to no operation and with no <c>methods</c> is shown with, per access class.</summary>
    private static readonly string[] AnyRead = ["GET"];
    private static readonly string[] AnyWrite = ["POST", "PUT", "PATCH", "DELETE"];

    /// <summary>
    /// Every public operation <paramref name="plan"/> of <paramref name="config"/> (loaded) grants, ordered by path and
    /// method. An operation is listed once per route that serves it; an operation no route serves is not callable, so
    /// it is not listed.
    /// </summary>
    public static IReadOnlyList<PlanOperation> Of(string plan, GatehouseConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.Plans.TryGetValue(plan, out var planConfig))
        {
            return [];
        }

        var grants = PlanGrants.Resolve(planConfig, config);
        var byOperation = new Dictionary<string, (string Service, OperationConfig Operation)>(StringComparer.Ordinal);
        var prompts = new Dictionary<string, (string Name, AiPromptConfig Prompt)>(StringComparer.Ordinal);
        foreach (var (service, serviceConfig) in config.Services)
        {
            foreach (var (id, operation) in serviceConfig.Operations)
            {
                byOperation[id] = (service, operation);
            }

            foreach (var (name, prompt) in serviceConfig.Ai?.Prompts ?? new Dictionary<string, AiPromptConfig>())
            {
                prompts[prompt.OperationIdOf(service, name)] = (name, prompt);
            }
        }

        var result = new List<PlanOperation>();
        foreach (var (routeId, route) in config.Routes)
        {
            if (route.Path is not { } path)
            {
                continue;
            }

            if (route.Operation is { } id)
            {
                if (grants.Operations.GetValueOrDefault(id) == AccessFlags.None || !byOperation.TryGetValue(id, out var found))
                {
                    continue;
                }

                // A prompt is described by its own config (its input schema), not by a document of the model service.
                var prompt = prompts.TryGetValue(id, out var p) ? p : default;
                foreach (var method in route.Methods.Count > 0 ? route.Methods : [found.Operation.Method])
                {
                    result.Add(new PlanOperation(id, method.ToUpperInvariant(), path, found.Operation.Access, found.Operation.Tags,
                        prompt.Prompt is null ? found.Service : null, found.Operation.Path, found.Operation.Method.ToUpperInvariant(), PlanOperationKind.Operation)
                    {
                        Document = prompt.Prompt is null ? null : PromptDocument(prompt.Name, prompt.Prompt),
                        Scopes = Scopes(found.Operation.RequireScopes, route.RequireScopes),
                    });
                }

                continue;
            }

            // A route to a model service is the OpenAI-compatible API (docs/ai.md), not REST operations to describe:
            // a catch-all /v1/{rest} with every method would say nothing true about it.
            if (route.Service is { } service && config.Services.TryGetValue(service, out var target) && target.Kind == ServiceKind.Ai)
            {
                continue;
            }

            // A route bound to no operation: its access class comes from each request's method.
            var flags = grants.Routes.GetValueOrDefault(routeId);
            var methods = route.Methods.Count > 0
                ? route.Methods.Select(m => m.ToUpperInvariant())
                : ((flags & AccessFlags.Read) != 0 ? AnyRead : []).Concat((flags & AccessFlags.Write) != 0 ? AnyWrite : []);
            foreach (var method in methods)
            {
                var access = OperationConfig.AccessOf(method);
                if ((flags & access.ToFlag()) != 0)
                {
                    result.Add(new PlanOperation(routeId, method, path, access, [], null, null, null, PlanOperationKind.Route) { Scopes = route.RequireScopes });
                }
            }
        }

        foreach (var (cid, composition) in config.Compositions)
        {
            var id = composition.OperationIdOf(cid);
            var operation = composition.AsOperation();
            if ((grants.Operations.GetValueOrDefault(id) & operation.Access.ToFlag()) != 0)
            {
                result.Add(new PlanOperation(id, operation.Method, composition.Path, operation.Access, composition.Tags, null, null, null, PlanOperationKind.Composition)
                {
                    Scopes = operation.RequireScopes,
                });
            }
        }

        return [.. result.OrderBy(o => o.Path, StringComparer.Ordinal).ThenBy(o => o.Method, StringComparer.Ordinal)];
    }

    /// <summary>An operation's scopes and then its route's, each once, as the gateway requires them.</summary>
    private static IReadOnlyList<string> Scopes(IReadOnlyList<string> operation, IReadOnlyList<string> route) =>
        route.Count == 0 ? operation : [.. operation.Concat(route).Distinct(StringComparer.Ordinal)];

    /// <summary>
    /// The model routes <paramref name="plan"/> grants (routes to an <c>ai</c> service, which <see cref="Of"/> leaves out):
    /// each route's id, the public base path of its OpenAI-compatible API (the route's path without its catch-all, e.g.
    /// <c>/v1</c>), and the service's model aliases; ordered by path.
    /// </summary>
    public static IReadOnlyList<PlanModelRoute> Models(string plan, GatehouseConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        if (!config.Plans.TryGetValue(plan, out var planConfig))
        {
            return [];
        }

        var grants = PlanGrants.Resolve(planConfig, config);
        var result = new List<PlanModelRoute>();
        foreach (var (routeId, route) in config.Routes)
        {
            // A model call is a read (docs/ai.md).
            if (route.Path is { } path && route.Operation is null && route.Service is { } service
                && config.Services.TryGetValue(service, out var target) && target.Kind == ServiceKind.Ai
                && (grants.Routes.GetValueOrDefault(routeId) & AccessFlags.Read) != 0)
            {
                var catchAll = path.IndexOf("/{**", StringComparison.Ordinal);
                var basePath = catchAll < 0 ? path.TrimEnd('/') : path[..catchAll];
                // Only the aliases the plan's 'models' allows, when it names them.
                var aliases = (target.Ai?.Models.Keys ?? []).Where(a => planConfig.Models is not { } allowed || allowed.Contains(a, StringComparer.Ordinal));
                result.Add(new PlanModelRoute(routeId, basePath, [.. aliases.Order(StringComparer.Ordinal)]));
            }
        }

        return [.. result.OrderBy(r => r.BasePath, StringComparer.Ordinal)];
    }

    /// <summary>A prompt as an OpenAPI operation: its input schema as the JSON request body, <c>{ OUTPUT: string }</c> as the answer.</summary>
    private static JsonObject PromptDocument(string name, AiPromptConfig prompt)
    {
        var operation = new JsonObject
        {
            ["summary"] = prompt.Summary ?? $"{name} (a prompt to a model)",
        };
        if (prompt.Description is { } description)
        {
            operation["description"] = description;
        }

        operation["requestBody"] = new JsonObject
        {
            ["required"] = true,
            ["content"] = new JsonObject { ["application/json"] = new JsonObject { ["schema"] = prompt.Input?.DeepClone() ?? new JsonObject() } },
        };
        operation["responses"] = new JsonObject
        {
            ["200"] = new JsonObject
            {
                ["description"] = "The model's answer.",
                ["content"] = new JsonObject
                {
                    ["application/json"] = new JsonObject
                    {
                        ["schema"] = new JsonObject
                        {
                            ["type"] = "object",
                            ["properties"] = new JsonObject { [prompt.Output] = new JsonObject { ["type"] = "string" } },
                            ["required"] = new JsonArray(prompt.Output),
                        },
                    },
                },
            },
        };
        return operation;
    }
}
