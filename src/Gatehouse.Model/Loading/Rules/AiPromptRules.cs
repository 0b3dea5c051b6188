using System.Text.Json.Nodes;
using Gatehouse.Model.Config;

namespace Gatehouse.Model.Loading;

/// <summary>
/// A prompt's <c>input</c> is an object schema that declares every variable its messages use, its <c>parameters</c> are
/// chat parameters the gateway knows, and its <c>output</c> is a property name. (Its alias is checked by
/// <see cref="AiServiceRules"/>, which sees the service's aliases.)
/// </summary>
internal sealed class AiPromptRules : BindingRules<AiPromptConfig>
{
    /// <summary>The chat parameters a prompt may set; the others (<c>messages</c>, <c>model</c>, <c>stream</c>, tools) are the gateway's.</summary>
    internal static readonly IReadOnlySet<string> KnownParameters = new HashSet<string>(StringComparer.Ordinal)
    {
        "temperature", "top_p", "max_tokens", "max_completion_tokens", "stop", "seed", "presence_penalty", "frequency_penalty",
    };

    protected override AiPromptConfig? Check(AiPromptConfig prompt, BindingScope scope)
    {
        var ok = true;
        JsonNode? input = null;
        if (!scope.Map.TryGetValue("input", out var inputNode))
        {
            scope.Error("input", "a prompt needs 'input', the JSON Schema of its request body, e.g. 'input: { type: object, properties: { text: { type: string } }, required: [text] }'.");
            ok = false;
        }
        else
        {
            input = scope.Binder.Compositions.Json(inputNode, scope.At("input"), 0);
            if (input is not JsonObject schema || schema["type"]?.GetValueKind() != System.Text.Json.JsonValueKind.String || (string?)schema["type"] != "object"
                || schema["properties"] is not JsonObject)
            {
                scope.Error("input", "'input' must be an object schema with 'properties', e.g. '{ type: object, properties: { text: { type: string } }, required: [text] }'.");
                ok = false;
            }
        }

        JsonObject? parameters = null;
        if (scope.Map.TryGetValue("parameters", out var parametersNode))
        {
            parameters = scope.Binder.Compositions.Json(parametersNode, scope.At("parameters"), 0) as JsonObject;
            if (parameters is null)
            {
                scope.Error("parameters", "'parameters' must be a mapping, e.g. '{ temperature: 0.2, max_tokens: 200 }'.");
                ok = false;
            }
            else
            {
                foreach (var (name, _) in parameters)
                {
                    if (!KnownParameters.Contains(name))
                    {
                        scope.B.Error(YamlBinder.Join(scope.At("parameters"), name), parametersNode, $"'{name}' is not a chat parameter a prompt may set; use {string.Join(", ", KnownParameters)}.");
                        ok = false;
                    }
                }
            }
        }

        if (string.IsNullOrWhiteSpace(prompt.Output) || prompt.Output.Any(char.IsControl))
        {
            scope.Error("output", "'output' names the response property that holds the answer, e.g. 'output: summary'.");
            ok = false;
        }

        if (prompt.Messages.Count == 0 && scope.Has("messages"))
        {
            scope.Error("messages", "a prompt needs at least one message, e.g. '[ { role: user, content: \"Summarize: {{text}}\" } ]'.");
            ok = false;
        }

        var declared = (input as JsonObject)?["properties"] as JsonObject;
        for (var i = 0; i < prompt.Messages.Count; i++)
        {
            foreach (var variable in AiPromptConfig.Variables(prompt.Messages[i].Content))
            {
                if (declared is not null && !declared.ContainsKey(variable))
                {
                    scope.B.Error($"{scope.At("messages")}[{i}].content", scope.Map.GetValueOrDefault("messages") ?? scope.Node,
                        $"the variable '{{{{{variable}}}}}' is not a property of 'input'; declare it under 'input.properties', or fix its name.");
                    ok = false;
                }
            }
        }

        return ok ? prompt with { Input = input, Parameters = parameters } : null;
    }
}
