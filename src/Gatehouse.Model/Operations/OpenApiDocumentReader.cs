using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Gatehouse.Model.Operations;

/// <summary>
/// Reads the operations (paths, methods, operationIds, tags) out of an OpenAPI 3.0 or 3.1 document in JSON or YAML.
/// Uses Microsoft.OpenApi 2.x (the version ASP.NET Core 10 uses, so both fit in one process); YAML is turned
/// into JSON first with YamlDotNet, because the library's YAML reader is a separate package we cannot get.
/// </summary>
public static class OpenApiDocumentReader
{
    /// <summary>Parses <paramref name="text"/>; on failure returns null and a sentence saying what is wrong with it.</summary>
    public static ImportedDocument? Read(string text, out string? error)
    {
        var node = ParseTree(text, out error);
        if (node is null)
        {
            return null;
        }

        if (node is not JsonObject root)
        {
            error = "it is not an OpenAPI document: the top level must be a mapping with 'openapi', 'info' and 'paths'.";
            return null;
        }

        if (root.ContainsKey("swagger"))
        {
            error = "it is a Swagger (OpenAPI 2.0) document; convert it to OpenAPI 3 first (for example with swagger2openapi).";
            return null;
        }

        if (!root.ContainsKey("openapi"))
        {
            error = "it is not an OpenAPI document: it has no 'openapi' version field.";
            return null;
        }

        OpenApiDocument? document;
        OpenApiDiagnostic? diagnostic;
        try
        {
            // Validation rules are off: we read four fields, and a document the service itself serves should not
            // be refused over, say, a missing response description.
            var settings = new OpenApiReaderSettings { RuleSet = ValidationRuleSet.GetEmptyRuleSet(), LoadExternalRefs = false };
            (document, diagnostic) = new OpenApiJsonReader().Read(root, new Uri("memory://openapi"), settings);
        }
        catch (OpenApiUnsupportedSpecVersionException)
        {
            error = $"OpenAPI version '{root["openapi"]}' is not supported; Gatehouse reads OpenAPI 3.0 and 3.1.";
            return null;
        }
        catch (Exception e) when (e is OpenApiException or JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            error = $"it is not a readable OpenAPI document: {e.Message}";
            return null;
        }

        // Problems outside 'paths' (schemas, examples) do not affect the operations, so only these count.
        var relevant = diagnostic?.Errors
            .Where(e => string.IsNullOrEmpty(e.Pointer) || e.Pointer.StartsWith("#/paths", StringComparison.Ordinal) || e.Pointer.StartsWith("#/openapi", StringComparison.Ordinal))
            .ToList() ?? [];
        if (document is null || relevant.Count > 0)
        {
            var first = relevant.FirstOrDefault() ?? diagnostic?.Errors.FirstOrDefault();
            error = first is null
                ? "it is not a readable OpenAPI document."
                : $"it is not a readable OpenAPI document: {(string.IsNullOrEmpty(first.Pointer) ? "" : first.Pointer + ": ")}{first.Message}";
            return null;
        }

        var version = diagnostic?.SpecificationVersion switch
        {
            OpenApiSpecVersion.OpenApi3_0 => "3.0",
            OpenApiSpecVersion.OpenApi3_1 => "3.1",
            _ => null,
        };
        if (version is null)
        {
            error = $"OpenAPI version '{root["openapi"]}' is not supported; Gatehouse reads OpenAPI 3.0 and 3.1.";
            return null;
        }

        var operations = new List<ImportedOperation>();
        foreach (var (path, item) in document.Paths ?? new OpenApiPaths())
        {
            if (item.Operations is null)
            {
                continue;
            }

            foreach (var (method, operation) in item.Operations)
            {
                var tags = operation.Tags?.Select(t => t.Name).OfType<string>().ToList() ?? [];
                var id = string.IsNullOrWhiteSpace(operation.OperationId) ? null : operation.OperationId;
                operations.Add(new ImportedOperation(method.Method.ToUpperInvariant(), path, id, tags, OpenApiContracts.Read(root, path, method.Method, version == "3.0")));
            }
        }

        return new ImportedDocument(version, document.Info?.Title, operations);
    }

    internal static JsonNode? ParseTree(string text, out string? error)
    {
        error = null;
        var trimmed = text.AsSpan().TrimStart("\uFEFF \t\r\n");
        if (trimmed.Length == 0)
        {
            error = "it is empty.";
            return null;
        }

        if (trimmed[0] == '{')
        {
            try
            {
                return JsonNode.Parse(trimmed.ToString());
            }
            catch (JsonException e)
            {
                // A YAML flow mapping also starts with '{'; only when it is not that either is the JSON error the one to tell.
                var yaml = YamlJson.Parse(text, out _);
                if (yaml is not null)
                {
                    return yaml;
                }

                error = $"it is not valid JSON: {e.Message}";
                return null;
            }
        }

        return YamlJson.Parse(text, out error);
    }
}
