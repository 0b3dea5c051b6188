using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Gatehouse.Model.Routing;

namespace Gatehouse.Model.Plans;

/// <summary>
/// A plan's own OpenAPI 3.1 document: exactly the operations <see cref="PlanProjection"/> lists, at their public paths,
/// with their descriptions and schemas taken from the services' documents, the components they reference (transitively)
/// and nothing else, the gateway as the server and the plan's credential as the security scheme (a bearer token with
/// its scopes for an operation that requires OAuth scopes).
/// </summary>
public static class PlanOpenApi
{
    private static readonly string[] ComponentKinds =
        ["schemas", "responses", "parameters", "examples", "requestBodies", "headers", "links", "callbacks", "pathItems"];

    /// <summary>
    /// Builds the document of <paramref name="plan"/>. <paramref name="sources"/> gives a service's document as 3.1 JSON
    /// (<see cref="Operations.OpenApiV31"/>), or null when it has none or it cannot be read: its operations are then
    /// described from the config alone (method, path, parameters, tags).
    /// </summary>
    public static JsonObject Build(GatehouseConfig config, string plan, IReadOnlyList<PlanOperation> operations, Func<string, JsonObject?> sources, string serverUrl)
    {
        ArgumentNullException.ThrowIfNull(config);
        var planConfig = config.Plans[plan];
        var paths = new JsonObject();
        var components = new Dictionary<string, JsonObject>(StringComparer.Ordinal);
        var renames = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        var documents = new Dictionary<string, JsonObject?>(StringComparer.Ordinal);

        foreach (var op in operations)
        {
            JsonObject? source = null;
            JsonObject? document = null;
            if (op.Service is { } service)
            {
                if (!documents.TryGetValue(service, out document))
                {
                    document = sources(service);
                    documents[service] = document;
                    if (document is not null)
                    {
                        renames[service] = MergeComponents(service, document, components);
                    }
                }

                if (document?["paths"]?[op.SourcePath!] is JsonObject item && item[op.SourceMethod!.ToLowerInvariant()] is JsonObject found)
                {
                    source = (JsonObject)found.DeepClone();
                    // Path-level parameters belong to every operation of the path.
                    if (item["parameters"] is JsonArray shared)
                    {
                        var own = source["parameters"] as JsonArray ?? [];
                        foreach (var parameter in shared)
                        {
                            own.Add(parameter?.DeepClone());
                        }

                        source["parameters"] = own;
                    }

                    Rewrite(source, renames[service]);
                }
            }

            var operation = source ?? (JsonObject?)op.Document?.DeepClone() ?? Described(op);
            operation["operationId"] = op.Id;
            operation.Remove("servers");
            operation.Remove("security");
            if (op.Tags.Count > 0 && operation["tags"] is null)
            {
                operation["tags"] = new JsonArray([.. op.Tags.Select(t => (JsonNode?)t)]);
            }

            if (op.Scopes.Count > 0)
            {
                RequireScopes(operation, op.Scopes);
            }

            var path = PublicPath(op.Path);
            var pathItem = paths[path] as JsonObject ?? [];
            paths[path] = pathItem;
            pathItem[op.Method.ToLowerInvariant()] = operation;
        }

        var document31 = new JsonObject
        {
            ["openapi"] = "3.1.1",
            ["info"] = new JsonObject
            {
                ["title"] = $"{planConfig.Title ?? plan} plan",
                ["version"] = plan,
                ["description"] = $"The operations the '{plan}' plan grants{(planConfig.ApprovalRequired ? " (subscribing needs approval)" : "")}. Calls go to the gateway.",
            },
            ["servers"] = new JsonArray(new JsonObject { ["url"] = serverUrl.TrimEnd('/') }),
            ["paths"] = paths,
        };

        var kept = Prune(paths, components);
        // Bearer tokens are accepted from JWT issuers and from an introspection endpoint alike (whose tokens may be opaque).
        var bearer = config.Gateway.Jwt.Issuers.Count > 0 || config.Gateway.Introspection is not null
            ? new JsonObject { ["type"] = "http", ["scheme"] = "bearer", ["description"] = "An OAuth 2 access token for your application, from the API's authorization server." }
            : null;
        if (bearer is not null && config.Gateway.Introspection is null)
        {
            bearer["bearerFormat"] = "JWT";
        }

        if (!planConfig.Anonymous)
        {
            var schemes = new JsonObject
            {
                ["apiKey"] = new JsonObject { ["type"] = "apiKey", ["in"] = "header", ["name"] = config.Gateway.ApiKeys.Header, ["description"] = "Your application's API key." },
            };
            var security = new JsonArray(new JsonObject { ["apiKey"] = new JsonArray() });
            if (bearer is not null)
            {
                schemes["bearer"] = bearer;
                security.Add(new JsonObject { ["bearer"] = new JsonArray() });
            }

            kept["securitySchemes"] = schemes;
            document31["security"] = security;
        }
        else if (bearer is not null && operations.Any(o => o.Scopes.Count > 0))
        {
            // An anonymous plan's document needs no credential, except for an operation that requires scopes.
            kept["securitySchemes"] = new JsonObject { ["bearer"] = bearer };
        }

        if (kept.Count > 0)
        {
            document31["components"] = kept;
        }

        return document31;
    }

    /// <summary>
    /// An operation that requires OAuth scopes takes a bearer token with them and nothing else: its own <c>security</c>
    /// names the bearer scheme with the scopes (OpenAPI 3.1 lets a requirement of any scheme list the roles it needs;
    /// the config names no token endpoint, so there is no <c>oauth2</c> flow to describe), and its description says so
    /// for readers and tools that do not show a requirement's scopes.
    /// </summary>
    private static void RequireScopes(JsonObject operation, IReadOnlyList<string> scopes)
    {
        operation["security"] = new JsonArray(new JsonObject { ["bearer"] = new JsonArray([.. scopes.Select(s => (JsonNode?)s)]) });
        var needs = $"Needs a bearer token with the OAuth scope{(scopes.Count == 1 ? "" : "s")} {string.Join(", ", scopes.Select(s => $"`{s}`"))}; an API key is refused (403 insufficient-scope).";
        operation["description"] = operation["description"] is JsonValue value && value.TryGetValue<string>(out var text) && text.Length > 0 ? text + "\n\n" + needs : needs;
    }

    /// <summary><c>{**rest}</c> (a catch-all) is written <c>{rest}</c>: OpenAPI has one kind of path parameter.</summary>
    private static string PublicPath(string path) => path.Replace("{**", "{", StringComparison.Ordinal).Replace("{*", "{", StringComparison.Ordinal);

    // An operation no document describes: its method, path parameters and tags, from the config.
    private static JsonObject Described(PlanOperation op)
    {
        var parameters = new JsonArray();
        if (PathTemplate.TryParse(op.Path, out _) is { } template)
        {
            foreach (var name in template.ParameterNames)
            {
                parameters.Add(new JsonObject { ["name"] = name, ["in"] = "path", ["required"] = true, ["schema"] = new JsonObject { ["type"] = "string" } });
            }
        }

        var operation = new JsonObject
        {
            ["summary"] = op.Kind == PlanOperationKind.Composition ? $"{op.Id} (one call, several services behind it)" : op.Id,
            ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
        };
        if (parameters.Count > 0)
        {
            operation["parameters"] = parameters;
        }

        return operation;
    }

    // Adds a document's components under their names, or under "service_name" when another document already took the
    // name with different content; returns the renames (by $ref) to apply to that document's operations.
    private static Dictionary<string, string> MergeComponents(string service, JsonObject document, Dictionary<string, JsonObject> components)
    {
        var renames = new Dictionary<string, string>(StringComparer.Ordinal);
        if (document["components"] is not JsonObject own)
        {
            return renames;
        }

        // First every name (a reference may point at a component of another kind), then the copies, rewritten.
        var chosen = new Dictionary<(string Kind, string Name), string>();
        foreach (var kind in ComponentKinds)
        {
            if (own[kind] is not JsonObject entries)
            {
                continue;
            }

            var target = components.TryGetValue(kind, out var existing) ? existing : null;
            foreach (var (name, value) in entries)
            {
                var as_ = target?[name] is { } taken && !JsonNode.DeepEquals(taken, value) ? $"{service}_{name}" : name;
                chosen[(kind, name)] = as_;
                if (as_ != name)
                {
                    renames[$"#/components/{kind}/{name}"] = $"#/components/{kind}/{as_}";
                }
            }
        }

        foreach (var ((kind, name), as_) in chosen)
        {
            if (own[kind]?[name]?.DeepClone() is { } copy)
            {
                Rewrite(copy, renames);
                var target = components.TryGetValue(kind, out var existing) ? existing : components[kind] = [];
                target[as_] = copy;
            }
        }

        return renames;
    }

    private static void Rewrite(JsonNode node, Dictionary<string, string> renames)
    {
        if (renames.Count == 0)
        {
            return;
        }

        foreach (var reference in References(node))
        {
            if (reference.Parent is JsonObject holder && renames.TryGetValue(reference.GetValue<string>(), out var renamed))
            {
                holder["$ref"] = renamed;
            }
        }
    }

    // Every "$ref" string value under node.
    private static List<JsonValue> References(JsonNode? node)
    {
        var found = new List<JsonValue>();
        var stack = new Stack<JsonNode?>([node]);
        while (stack.Count > 0)
        {
            switch (stack.Pop())
            {
                case JsonObject obj:
                    foreach (var (key, value) in obj)
                    {
                        if (key == "$ref" && value is JsonValue text && text.TryGetValue<string>(out _))
                        {
                            found.Add(text);
                        }
                        else
                        {
                            stack.Push(value);
                        }
                    }

                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        stack.Push(item);
                    }

                    break;
            }
        }

        return found;
    }

    // The components reachable from the paths, following references inside components too; the rest are dropped.
    private static JsonObject Prune(JsonObject paths, Dictionary<string, JsonObject> components)
    {
        var keep = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Queue<string>(References(paths).Select(r => r.GetValue<string>()));
        while (pending.Count > 0)
        {
            var reference = pending.Dequeue();
            if (!keep.Add(reference))
            {
                continue;
            }

            var parts = reference.Split('/');
            if (parts.Length == 4 && parts[0] == "#" && parts[1] == "components" && components.TryGetValue(parts[2], out var kind) && kind[parts[3]] is { } target)
            {
                foreach (var inner in References(target))
                {
                    pending.Enqueue(inner.GetValue<string>());
                }
            }
        }

        var result = new JsonObject();
        foreach (var kind in ComponentKinds)
        {
            if (!components.TryGetValue(kind, out var entries))
            {
                continue;
            }

            var used = new JsonObject();
            foreach (var (name, value) in entries)
            {
                if (keep.Contains($"#/components/{kind}/{name}"))
                {
                    used[name] = value?.DeepClone();
                }
            }

            if (used.Count > 0)
            {
                result[kind] = used;
            }
        }

        return result;
    }
}
