using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Model.Config;
using Json.Schema;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// The compiled form of a prompt (<c>services.NAME.ai.prompts.PROMPT</c>): its messages split into text and variables,
/// its input schema built once, its parameters. Filling it only ever makes text inside a message: a value cannot add a
/// message, change a role or set a parameter.
/// </summary>
internal sealed class AiPrompt
{
    private readonly (string Role, Segment[] Parts)[] _messages;
    private readonly JsonObject _parameters;

    public AiPrompt(string service, string name, AiPromptConfig config)
    {
        Name = name;
        Alias = config.Model;
        Output = config.Output;
        _parameters = config.Parameters?.DeepClone().AsObject() ?? [];
        _messages = [.. config.Messages.Select(m => (m.Role.ToString().ToLowerInvariant(), Split(m.Content)))];
        Variables = [.. _messages.SelectMany(m => m.Parts).Where(p => p.IsVariable).Select(p => p.Text).Distinct(StringComparer.Ordinal)];
        // Each prompt its own registry, as request validation does: two schemas must never resolve each other's '$defs'.
        Schema = JsonSchema.FromText((config.Input ?? new JsonObject()).ToJsonString(), new BuildOptions { SchemaRegistry = new SchemaRegistry() },
            new Uri($"urn:gatehouse:prompt:{Uri.EscapeDataString(service)}:{Uri.EscapeDataString(name)}"));
    }

    public string Name { get; }

    /// <summary>The model alias of the service the prompt is sent to.</summary>
    public string Alias { get; }

    /// <summary>The response property that holds the answer.</summary>
    public string Output { get; }

    /// <summary>The variables the messages use, once each.</summary>
    public string[] Variables { get; }

    /// <summary>The request body's JSON Schema.</summary>
    public JsonSchema Schema { get; }

    /// <summary>
    /// The chat request for <paramref name="input"/>, or null with the names of the variables it lacks (a property that is
    /// missing or null).
    /// </summary>
    public JsonObject? Fill(JsonObject input, out List<string>? missing)
    {
        missing = null;
        foreach (var variable in Variables)
        {
            if (input[variable] is null)
            {
                (missing ??= []).Add(variable);
            }
        }

        if (missing is not null)
        {
            return null;
        }

        var messages = new JsonArray();
        var text = new StringBuilder();
        foreach (var (role, parts) in _messages)
        {
            text.Clear();
            foreach (var part in parts)
            {
                text.Append(part.IsVariable ? ValueText(input[part.Text]!) : part.Text);
            }

            // Built as a JSON string value: whatever the text holds (quotes, "role": …, newlines) stays this message's content.
            messages.Add(new JsonObject { ["role"] = role, ["content"] = text.ToString() });
        }

        var body = new JsonObject { ["model"] = Alias, ["messages"] = messages };
        foreach (var (key, value) in _parameters)
        {
            body[key] = value?.DeepClone();
        }

        return body;
    }

    private static string ValueText(JsonNode value) =>
        value is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : value.ToJsonString();

    private static Segment[] Split(string content)
    {
        var parts = new List<Segment>();
        var at = 0;
        while (at < content.Length)
        {
            var open = content.IndexOf("{{", at, StringComparison.Ordinal);
            var close = open < 0 ? -1 : content.IndexOf("}}", open + 2, StringComparison.Ordinal);
            if (close < 0)
            {
                parts.Add(new Segment(content[at..], false));
                break;
            }

            if (open > at)
            {
                parts.Add(new Segment(content[at..open], false));
            }

            parts.Add(new Segment(content[(open + 2)..close].Trim(), true));
            at = close + 2;
        }

        return [.. parts];
    }

    private readonly record struct Segment(string Text, bool IsVariable);
}
