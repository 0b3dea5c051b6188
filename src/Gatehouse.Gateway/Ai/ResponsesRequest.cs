using System.Text.Json.Nodes;
using static Gatehouse.Gateway.Ai.JsonNodes;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Translates a call of OpenAI's Responses API into a chat completion call, for providers that do not serve the
/// Responses API (Anthropic's, through <see cref="Anthropic.AnthropicRequest"/> after this): <c>instructions</c> and
/// system or developer items become system messages, input items messages, <c>function_call</c> items an assistant's
/// <c>tool_calls</c> and <c>function_call_output</c> items <c>tool</c> messages, function tools chat's function tools.
/// What has no chat form (OpenAI's hosted tools and their items, files, structured output) is refused with a sentence
/// that says so, rather than dropped.
/// </summary>
internal static class ResponsesRequest
{
    /// <summary>The chat completion call, or null with <paramref name="error"/> (a sentence for the client).</summary>
    public static JsonObject? ToChat(JsonObject responses, out string? error)
    {
        error = null;
        var messages = new JsonArray();
        if (Str(responses["instructions"]) is { Length: > 0 } instructions)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = instructions });
        }

        switch (responses["input"])
        {
            case JsonValue v when v.TryGetValue<string>(out var text):
                messages.Add(new JsonObject { ["role"] = "user", ["content"] = text });
                break;
            case JsonArray items:
                JsonObject? assistant = null; // the assistant message that function calls in a row join
                for (var i = 0; i < items.Count; i++)
                {
                    if (!AddItem(messages, items[i], $"input[{i}]", ref assistant, out error))
                    {
                        return null;
                    }
                }

                break;
            default:
                error = "'input' must be a string or a list of input items.";
                return null;
        }

        var chat = new JsonObject { ["messages"] = messages };
        if (responses["max_output_tokens"] is JsonValue max && max.TryGetValue<long>(out var maxTokens))
        {
            chat["max_tokens"] = maxTokens;
        }

        foreach (var name in (ReadOnlySpan<string>)["temperature", "top_p", "parallel_tool_calls"])
        {
            if (responses[name] is JsonValue value)
            {
                chat[name] = value.DeepClone();
            }
        }

        if ((Str(responses["safety_identifier"]) ?? Str(responses["user"])) is { } user)
        {
            chat["user"] = user;
        }

        if (responses["text"]?["format"]?["type"] is JsonValue format && Str(format) is { } type && type != "text")
        {
            error = $"'text.format' of type '{type}' cannot be sent to this model's provider; ask for JSON in the instructions, or use a model whose providers serve the Responses API.";
            return null;
        }

        if (responses["tools"] is JsonArray { Count: > 0 } tools)
        {
            var functions = new JsonArray();
            for (var t = 0; t < tools.Count; t++)
            {
                var tool = tools[t];
                if (Str(tool?["type"]) != "function" || Str(tool!["name"]) is not { } name)
                {
                    error = $"tools[{t}] is OpenAI's '{Str(tool?["type"]) ?? "(no type)"}' tool, which runs at OpenAI; this model's provider runs only function tools the call defines.";
                    return null;
                }

                var function = new JsonObject { ["name"] = name };
                if (Str(tool["description"]) is { } description)
                {
                    function["description"] = description;
                }

                if (tool["parameters"] is JsonObject parameters)
                {
                    function["parameters"] = parameters.DeepClone();
                }

                functions.Add(new JsonObject { ["type"] = "function", ["function"] = function });
            }

            chat["tools"] = functions;
        }

        switch (responses["tool_choice"])
        {
            case null:
                break;
            case JsonValue v when Str(v) is "auto" or "none" or "required":
                chat["tool_choice"] = v.DeepClone();
                break;
            case JsonObject o when Str(o["type"]) == "function" && Str(o["name"]) is { } name:
                chat["tool_choice"] = new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = name } };
                break;
            default:
                error = "'tool_choice' must be auto, none, required or { type: function, name } for this model's provider.";
                return null;
        }

        if (responses["stream"] is JsonValue s && s.TryGetValue<bool>(out var stream) && stream)
        {
            chat["stream"] = true;
        }

        return chat;
    }

    private static bool AddItem(JsonArray messages, JsonNode? item, string where, ref JsonObject? assistant, out string? error)
    {
        error = null;
        var type = Str(item?["type"]) ?? (item?["role"] is not null ? "message" : null);
        switch (type)
        {
            case "message":
                var role = Str(item!["role"]);
                if (role is "system" or "developer")
                {
                    assistant = null;
                    if (Text(item["content"], where + ".content", out error) is not { } system)
                    {
                        return false;
                    }

                    messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
                    return true;
                }

                if (role == "assistant")
                {
                    if (Text(item["content"], where + ".content", out error) is not { } said)
                    {
                        return false;
                    }

                    assistant = new JsonObject { ["role"] = "assistant", ["content"] = said };
                    messages.Add(assistant);
                    return true;
                }

                if (role != "user")
                {
                    error = $"{where}: the role '{role}' cannot be sent to this model's provider; use user, assistant, system or developer.";
                    return false;
                }

                assistant = null;
                if (UserContent(item["content"], where, out error) is not { } content)
                {
                    return false;
                }

                messages.Add(new JsonObject { ["role"] = "user", ["content"] = content });
                return true;

            case "function_call":
                if (Str(item!["call_id"]) is not { } callId || Str(item["name"]) is not { } name)
                {
                    error = $"{where}: a function_call needs 'call_id' and 'name'.";
                    return false;
                }

                if (assistant is null)
                {
                    assistant = new JsonObject { ["role"] = "assistant", ["content"] = null };
                    messages.Add(assistant);
                }

                if (assistant["tool_calls"] is not JsonArray calls)
                {
                    calls = [];
                    assistant["tool_calls"] = calls;
                }

                calls.Add(new JsonObject
                {
                    ["id"] = callId,
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = name, ["arguments"] = Str(item["arguments"]) ?? "{}" },
                });
                return true;

            case "function_call_output":
                assistant = null;
                if (Str(item!["call_id"]) is not { } outputOf)
                {
                    error = $"{where}: a function_call_output needs 'call_id'.";
                    return false;
                }

                if (Text(item["output"], where + ".output", out error) is not { } output)
                {
                    return false;
                }

                messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = outputOf, ["content"] = output });
                return true;

            case "reasoning":
                // A reasoning model's own, often encrypted: no other model can read it back.
                return true;

            default:
                error = $"{where}: an item of type '{type ?? "(none)"}' cannot be sent to this model's provider, which takes messages, function calls and their outputs.";
                return false;
        }
    }

    // A user message's content: a string, or chat's parts (text, and images by URL or data URL).
    private static JsonNode? UserContent(JsonNode? content, string where, out string? error)
    {
        error = null;
        if (content is JsonValue v && v.TryGetValue<string>(out var text))
        {
            return text;
        }

        if (content is not JsonArray parts)
        {
            error = $"{where}.content must be a string or a list of content parts.";
            return null;
        }

        var chat = new JsonArray();
        for (var p = 0; p < parts.Count; p++)
        {
            var part = parts[p];
            switch (Str(part?["type"]))
            {
                case "input_text" or "output_text" when Str(part!["text"]) is { } partText:
                    chat.Add(new JsonObject { ["type"] = "text", ["text"] = partText });
                    break;
                case "input_image" when Str(part!["image_url"]) is { } url:
                    chat.Add(new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = url } });
                    break;
                default:
                    error = $"{where}.content[{p}]: a '{Str(part?["type"]) ?? "(no type)"}' part cannot be sent to this model's provider, which takes text and images given by URL.";
                    return null;
            }
        }

        // Text alone as one string: the compatible servers' chat templates take strings everywhere, lists of parts not always.
        return chat.All(part => (string?)part!["type"] == "text")
            ? string.Join("\n\n", chat.Select(part => (string?)part!["text"]))
            : chat;
    }

    // Text content: a string, or the text of its text parts joined.
    private static string? Text(JsonNode? content, string where, out string? error)
    {
        error = null;
        if (content is JsonValue v && v.TryGetValue<string>(out var text))
        {
            return text;
        }

        if (content is not JsonArray parts)
        {
            error = $"{where} must be a string or a list of text parts.";
            return null;
        }

        var texts = new List<string>();
        for (var p = 0; p < parts.Count; p++)
        {
            if (Str(parts[p]?["type"]) is not ("input_text" or "output_text" or "refusal") || (Str(parts[p]!["text"]) ?? Str(parts[p]!["refusal"])) is not { } partText)
            {
                error = $"{where}[{p}]: only text parts can be sent here to this model's provider.";
                return null;
            }

            texts.Add(partText);
        }

        return string.Concat(texts);
    }
}
