using System.Text.Json;
using System.Text.Json.Nodes;
using static Gatehouse.Gateway.Ai.JsonNodes;

namespace Gatehouse.Gateway.Ai.Anthropic;

/// <summary>
/// Translates an OpenAI chat completion request into Anthropic's Messages API request: <c>system</c>/<c>developer</c>
/// messages become the top-level <c>system</c>, tool calls become <c>tool_use</c> blocks and <c>tool</c> messages
/// <c>tool_result</c> blocks of a user turn, tools and <c>tool_choice</c> their Anthropic forms. Turns of the same role
/// in a row are merged into one, as Anthropic expects alternating turns.
/// </summary>
internal static class AnthropicRequest
{
    /// <summary>
    /// The body for the model <paramref name="model"/>, or null with <paramref name="error"/> (a sentence for the client)
    /// when the request has something Anthropic cannot take.
    /// </summary>
    /// <param name="cache">Mark Anthropic's prompt cache (<see cref="MarkCache"/>).</param>
    public static byte[]? Build(JsonObject openai, string model, out string? error, bool cache = false)
    {
        error = null;
        var system = new List<string>();
        var turns = new JsonArray();
        string? lastRole = null;
        JsonArray? lastContent = null;

        void Add(string role, JsonObject block)
        {
            if (role != lastRole || lastContent is null)
            {
                lastContent = [];
                turns.Add(new JsonObject { ["role"] = role, ["content"] = lastContent });
                lastRole = role;
            }

            lastContent.Add(block);
        }

        if (openai["messages"] is not JsonArray messages)
        {
            error = "'messages' must be a list of messages.";
            return null;
        }

        if (openai["n"] is JsonValue nValue && (!nValue.TryGetValue<int>(out var n) || n != 1))
        {
            error = "This model's provider answers one choice per call; remove 'n' or set it to 1.";
            return null;
        }

        for (var i = 0; i < messages.Count; i++)
        {
            if (messages[i] is not JsonObject message || message["role"] is not JsonValue r || !r.TryGetValue<string>(out var role))
            {
                error = $"messages[{i}] must be an object with a 'role'.";
                return null;
            }

            switch (role)
            {
                case "system" or "developer":
                    foreach (var part in Parts(message["content"]))
                    {
                        if (part.Text is null)
                        {
                            error = $"messages[{i}]: a {role} message can hold only text.";
                            return null;
                        }

                        system.Add(part.Text);
                    }

                    break;
                case "user":
                    foreach (var part in Parts(message["content"]))
                    {
                        if (part.Text is { } text)
                        {
                            if (text.Length > 0)
                            {
                                Add("user", new JsonObject { ["type"] = "text", ["text"] = text });
                            }
                        }
                        else if (Image(part.Node) is { } image)
                        {
                            Add("user", image);
                        }
                        else
                        {
                            error = $"messages[{i}].content: only text and image_url parts can be sent to this model's provider.";
                            return null;
                        }
                    }

                    break;
                case "assistant":
                    foreach (var part in Parts(message["content"]))
                    {
                        if (part.Text is { Length: > 0 } text)
                        {
                            Add("assistant", new JsonObject { ["type"] = "text", ["text"] = text });
                        }
                    }

                    if (message["tool_calls"] is JsonArray calls)
                    {
                        for (var c = 0; c < calls.Count; c++)
                        {
                            if (ToolUse(calls[c]) is not { } use)
                            {
                                error = $"messages[{i}].tool_calls[{c}] must have an 'id', a 'function.name' and 'function.arguments' that are a JSON object.";
                                return null;
                            }

                            Add("assistant", use);
                        }
                    }

                    break;
                case "tool":
                    if (message["tool_call_id"] is not JsonValue id || !id.TryGetValue<string>(out var toolCallId))
                    {
                        error = $"messages[{i}]: a tool message needs 'tool_call_id'.";
                        return null;
                    }

                    var result = string.Concat(Parts(message["content"]).Select(p => p.Text ?? ""));
                    Add("user", new JsonObject { ["type"] = "tool_result", ["tool_use_id"] = toolCallId, ["content"] = result });
                    break;
                default:
                    error = $"messages[{i}]: the role '{role}' cannot be sent to this model's provider; use system, developer, user, assistant or tool.";
                    return null;
            }
        }

        var body = new JsonObject
        {
            ["model"] = model,
            ["max_tokens"] = MaxTokens(openai),
        };
        if (system.Count > 0)
        {
            body["system"] = string.Join("\n\n", system);
        }

        body["messages"] = turns;
        if (openai["stop"] is JsonValue stopOne && stopOne.TryGetValue<string>(out var stop))
        {
            body["stop_sequences"] = new JsonArray(stop);
        }
        else if (openai["stop"] is JsonArray stops)
        {
            body["stop_sequences"] = stops.DeepClone();
        }

        foreach (var name in (ReadOnlySpan<string>)["temperature", "top_p"])
        {
            if (openai[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
            {
                body[name] = v.DeepClone();
            }
        }

        if (openai["user"] is JsonValue u && u.TryGetValue<string>(out var user))
        {
            body["metadata"] = new JsonObject { ["user_id"] = user };
        }

        if (openai["tools"] is JsonArray tools && tools.Count > 0)
        {
            var translated = new JsonArray();
            for (var t = 0; t < tools.Count; t++)
            {
                if (tools[t]?["function"] is not JsonObject function || function["name"] is not JsonValue fn || !fn.TryGetValue<string>(out var name))
                {
                    error = $"tools[{t}] must be a function tool with a 'function.name'.";
                    return null;
                }

                var tool = new JsonObject { ["name"] = name };
                if (function["description"] is JsonValue d && d.TryGetValue<string>(out var description))
                {
                    tool["description"] = description;
                }

                tool["input_schema"] = function["parameters"] is JsonObject parameters
                    ? parameters.DeepClone()
                    : new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
                translated.Add(tool);
            }

            body["tools"] = translated;
            if (ToolChoice(openai, out error) is { } choice)
            {
                body["tool_choice"] = choice;
            }
            else if (error is not null)
            {
                return null;
            }
        }

        if (openai["stream"] is JsonValue s && s.TryGetValue<bool>(out var stream) && stream)
        {
            body["stream"] = true;
        }

        if (cache)
        {
            MarkCache(body);
        }

        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    /// <summary>
    /// Anthropic's four cache breakpoints, where a client of its own API would put them: the last tool (the tools are
    /// cached), the system prompt (made a text block to carry the mark), the last block of the latest turn (the whole
    /// conversation is written to the cache) and of the user turn before it (what the previous call wrote is read back,
    /// however many blocks the last exchange added). Anthropic caches a prefix only from about a thousand tokens; shorter
    /// ones are sent uncached, without error.
    /// </summary>
    private static void MarkCache(JsonObject body)
    {
        static void Mark(JsonObject? block) => block?.Add("cache_control", new JsonObject { ["type"] = "ephemeral" });

        if (body["tools"] is JsonArray { Count: > 0 } tools)
        {
            Mark(tools[^1] as JsonObject);
        }

        if (body["system"] is JsonValue system && system.TryGetValue<string>(out var text))
        {
            var block = new JsonObject { ["type"] = "text", ["text"] = text };
            Mark(block);
            body["system"] = new JsonArray(block);
        }

        var turns = (JsonArray)body["messages"]!;
        var marked = 0;
        for (var i = turns.Count - 1; i >= 0 && marked < 2; i--)
        {
            // The latest turn, whoever's it is, and then the user turn before it.
            if ((marked == 0 || (string?)turns[i]!["role"] == "user") && turns[i]!["content"] is JsonArray { Count: > 0 } blocks)
            {
                Mark(blocks[^1] as JsonObject);
                marked++;
            }
        }
    }

    /// <summary>Anthropic requires <c>max_tokens</c>; when the call sets none, the amount admission reserves.</summary>
    private static long MaxTokens(JsonObject openai)
    {
        foreach (var name in (ReadOnlySpan<string>)["max_completion_tokens", "max_tokens"])
        {
            if (openai[name] is JsonValue v && v.TryGetValue<long>(out var n) && n > 0)
            {
                return n;
            }
        }

        return TokenLimiter.DefaultMaxTokens;
    }

    private static JsonObject? ToolChoice(JsonObject openai, out string? error)
    {
        error = null;
        JsonObject? choice = openai["tool_choice"] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<string>(out var s) => s switch
            {
                "auto" => new JsonObject { ["type"] = "auto" },
                "none" => new JsonObject { ["type"] = "none" },
                "required" => new JsonObject { ["type"] = "any" },
                _ => null,
            },
            JsonObject o when o["function"]?["name"] is JsonValue n && n.TryGetValue<string>(out var name) => new JsonObject { ["type"] = "tool", ["name"] = name },
            _ => null,
        };
        if (choice is null && openai["tool_choice"] is not null)
        {
            error = "'tool_choice' must be auto, none, required or { type: function, function: { name } }.";
            return null;
        }

        if (openai["parallel_tool_calls"] is JsonValue p && p.TryGetValue<bool>(out var parallel) && !parallel)
        {
            choice ??= new JsonObject { ["type"] = "auto" };
            if (choice["type"]!.GetValue<string>() != "none")
            {
                choice["disable_parallel_tool_use"] = true;
            }
        }

        return choice;
    }

    private static JsonObject? ToolUse(JsonNode? call)
    {
        if (call?["id"] is not JsonValue i || !i.TryGetValue<string>(out var id)
            || call["function"] is not JsonObject function
            || function["name"] is not JsonValue n || !n.TryGetValue<string>(out var name))
        {
            return null;
        }

        JsonNode? input;
        try
        {
            input = function["arguments"] is JsonValue a && a.TryGetValue<string>(out var arguments)
                ? (arguments.Trim().Length == 0 ? new JsonObject() : JsonNode.Parse(arguments))
                : null;
        }
        catch (JsonException)
        {
            return null;
        }

        return input is JsonObject ? new JsonObject { ["type"] = "tool_use", ["id"] = id, ["name"] = name, ["input"] = input } : null;
    }

    /// <summary>An OpenAI <c>image_url</c> part as an Anthropic image block: a data URL as base64, any other URL as a URL.</summary>
    private static JsonObject? Image(JsonNode? part)
    {
        if (part is null || Str(part["type"]) != "image_url" || part["image_url"]?["url"] is not JsonValue u || !u.TryGetValue<string>(out var url))
        {
            return null;
        }

        JsonObject source;
        if (url.StartsWith("data:", StringComparison.Ordinal))
        {
            var comma = url.IndexOf(',', StringComparison.Ordinal);
            var header = comma > 5 ? url[5..comma] : "";
            if (!header.EndsWith(";base64", StringComparison.Ordinal))
            {
                return null;
            }

            source = new JsonObject { ["type"] = "base64", ["media_type"] = header[..^7], ["data"] = url[(comma + 1)..] };
        }
        else if (url.StartsWith("https://", StringComparison.OrdinalIgnoreCase) || url.StartsWith("http://", StringComparison.OrdinalIgnoreCase))
        {
            source = new JsonObject { ["type"] = "url", ["url"] = url };
        }
        else
        {
            return null;
        }

        return new JsonObject { ["type"] = "image", ["source"] = source };
    }


    /// <summary>A message's content as parts: a string is one text part; a list holds text parts and others.</summary>
    private static IEnumerable<(string? Text, JsonNode? Node)> Parts(JsonNode? content)
    {
        switch (content)
        {
            case JsonValue v when v.TryGetValue<string>(out var text):
                yield return (text, null);
                break;
            case JsonArray parts:
                foreach (var part in parts)
                {
                    if (part is JsonValue pv && pv.TryGetValue<string>(out var s))
                    {
                        yield return (s, null);
                    }
                    else if (part is not null && Str(part["type"]) == "text" && part["text"] is JsonValue t && t.TryGetValue<string>(out var partText))
                    {
                        yield return (partText, null);
                    }
                    else
                    {
                        yield return (null, part);
                    }
                }

                break;
        }
    }
}
