using System.Text.Json.Nodes;

namespace Gatehouse.Gateway.Ai;

/// <summary>Reading the parsed bodies (<see cref="JsonNode"/>) that the translations and the kept responses walk.</summary>
internal static class JsonNodes
{
    /// <summary>The node's string, or null when it is absent or not a string.</summary>
    public static string? Str(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
