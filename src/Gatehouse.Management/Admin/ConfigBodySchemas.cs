using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;

namespace Gatehouse.Management.Admin;

/// <summary>
/// The seam for the schemas of the admin API's config resource bodies (a service, a route, the gateway section, a whole
/// document): the one place AdminOpenApi gets them from.
/// </summary>
/// <remarks>
/// TODO(#17): "One schema for the configuration" makes these from the records (the config's JSON Schema); its class of
/// this name and surface replaces this one. Until then each body is an object described by a pointer to
/// docs/configuration.md, which the loader checks (422 with every error and its path).
/// </remarks>
internal static class ConfigBodySchemas
{
    /// <summary>The name, in <c>components.schemas</c>, of a whole config document.</summary>
    public const string Document = "GatehouseDocument";

    /// <summary>The schemas of config bodies, for <c>components.schemas</c>.</summary>
    public static JsonObject Components()
    {
        var components = new JsonObject();
        foreach (var (kind, section) in ResourceKinds.Named)
        {
            components[Name(kind)] = Described($"One entry of '{section}' in a config file, as JSON (docs/configuration.md).");
        }

        components[Name(ResourceKinds.Gateway)] = Described("The 'gateway' section of a config file, as JSON (docs/configuration.md).");
        var document = Described("A whole config document as JSON: { \"version\": 1, \"gateway\": {…}, \"services\": {…}, \"routes\": {…}, … } (docs/configuration.md).");
        document["required"] = new JsonArray("version");
        document["properties"] = new JsonObject { ["version"] = new JsonObject { ["type"] = "integer", ["const"] = 1 } };
        components[Document] = document;
        return components;
    }

    /// <summary>A reference to the schema of one resource of <paramref name="section"/> (<c>services</c>, <c>gateway</c>), or of a whole document for <c>null</c>.</summary>
    public static JsonObject For(string? section) => new()
    {
        ["$ref"] = "#/components/schemas/" + (section is null ? Document : Name(ResourceKinds.KindOf(section) ?? section)),
    };

    // The records' names (ServiceConfig, GatewayConfig), as the config's JSON Schema names its definitions.
    private static string Name(string kind) => char.ToUpperInvariant(kind[0]) + kind[1..] + "Config";

    private static JsonObject Described(string description) => new()
    {
        ["type"] = "object",
        ["description"] = description + " Checked by the loader: unknown keys and wrong values are 422 with their paths.",
    };
}
