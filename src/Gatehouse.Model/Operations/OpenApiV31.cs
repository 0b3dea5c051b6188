using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;

namespace Gatehouse.Model.Operations;

/// <summary>
/// A service's OpenAPI document (3.0 or 3.1, JSON or YAML) as OpenAPI 3.1 JSON: read and written back by
/// Microsoft.OpenApi, which upgrades 3.0 forms (<c>nullable</c>, <c>example</c>) to their 3.1 spelling, so projections
/// of documents of either version are one document of one version.
/// </summary>
public static class OpenApiV31
{
    /// <summary>The document as 3.1 JSON; null and a sentence when it cannot be read.</summary>
    public static JsonObject? Convert(string text, out string? error)
    {
        if (OpenApiDocumentReader.ParseTree(text, out error) is not JsonObject root)
        {
            error ??= "it is not an OpenAPI document: the top level must be a mapping.";
            return null;
        }

        try
        {
            var settings = new OpenApiReaderSettings { RuleSet = ValidationRuleSet.GetEmptyRuleSet(), LoadExternalRefs = false };
            var (document, _) = new OpenApiJsonReader().Read(root, new Uri("memory://openapi"), settings);
            if (document is null)
            {
                error = "it is not a readable OpenAPI document.";
                return null;
            }

            using var writer = new StringWriter();
            document.SerializeAsV31(new OpenApiJsonWriter(writer));
            return JsonNode.Parse(writer.ToString()) as JsonObject;
        }
        catch (Exception e) when (e is OpenApiException or JsonException or InvalidOperationException or FormatException or ArgumentException)
        {
            error = $"it is not a readable OpenAPI document: {e.Message}";
            return null;
        }
    }
}
