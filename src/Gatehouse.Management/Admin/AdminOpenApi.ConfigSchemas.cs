using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;

namespace Gatehouse.Management.Admin;

/// <summary>
/// The seam for the bodies of config resources (a service, a route, a plan, …, the gateway section, and the whole
/// document): the one place the admin API's document gets their schemas from.
/// </summary>
/// <remarks>
/// TODO(#17): "One schema for the configuration" generates these from the records in Gatehouse.Model/Config; until
/// then each is an object described by a pointer to docs/configuration.md, which the loader checks (422 with every error
/// and its path), so the API is not described twice by hand.
/// </remarks>
internal static partial class AdminOpenApi
{
    private const string ConfigDocumentRef = "ConfigDocument";

    /// <summary>The name of the component schema of a resource of <paramref name="kind"/>.</summary>
    private static string ConfigResourceRef(string kind) => Pascal(kind) + "Config";

    /// <summary>The schema of a config resource of <paramref name="kind"/> (what PUT takes and GET answers).</summary>
    internal static JsonObject ConfigResourceSchema(string kind)
    {
        var section = ResourceKinds.SectionOf(kind) ?? kind;
        return new JsonObject
        {
            ["type"] = "object",
            ["description"] = kind == ResourceKinds.Gateway
                ? "The 'gateway' section of a config file, as JSON (docs/configuration.md#gateway). Checked by the loader: unknown keys and wrong values are 422 with their paths."
                : $"One entry of '{section}' in a config file, as JSON (docs/configuration.md#{section}). Checked by the loader: unknown keys and wrong values are 422 with their paths.",
        };
    }

    /// <summary>Every config schema the document's components hold.</summary>
    private static IEnumerable<(string Name, JsonObject Schema)> ConfigSchemas()
    {
        foreach (var (kind, _) in ResourceKinds.Named)
        {
            yield return (ConfigResourceRef(kind), ConfigResourceSchema(kind));
        }

        yield return (ConfigResourceRef(ResourceKinds.Gateway), ConfigResourceSchema(ResourceKinds.Gateway));
        yield return (ConfigDocumentRef, new JsonObject
        {
            ["type"] = "object",
            ["description"] = "A whole config document as JSON: { \"version\": 1, \"gateway\": {…}, \"services\": {…}, \"routes\": {…}, … } (docs/configuration.md).",
            ["required"] = new JsonArray("version"),
            ["properties"] = new JsonObject { ["version"] = new JsonObject { ["type"] = "integer", ["const"] = 1 } },
        });
    }
}
