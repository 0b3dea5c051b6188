using System.Text.Json;
using System.Text.Json.Nodes;
using static Gatehouse.Gateway.Ai.JsonNodes;

namespace Gatehouse.Gateway.Ai.Anthropic;

/// <summary>
/// Translates a call of Anthropic's Messages API into an OpenAI chat completion request, for providers that speak only
/// OpenAI's API (vLLM, Ollama, LM Studio, OpenAI, Azure): so that Claude Code and Anthropic's SDKs can be pointed at
/// any model behind the gateway. The reverse of <see cref="AnthropicRequest"/>:
/// <list type="bullet">
/// <item><c>system</c> (text or text blocks) becomes the first message;</item>
/// <item>a user turn's <c>tool_result</c> blocks become <c>tool</c> messages ahead of its other content, its images
/// <c>image_url</c> parts (base64 as data URLs), and its text one string;</item>
/// <item>an assistant turn's <c>tool_use</c> blocks become <c>tool_calls</c>, its thinking is left out (no OpenAI-format
/// provider can read Anthropic's signed thinking back);</item>
/// <item>tools, <c>tool_choice</c>, <c>stop_sequences</c>, <c>temperature</c>, <c>top_p</c> and
/// <c>metadata.user_id</c> their OpenAI forms.</item>
/// </list>
/// What has no OpenAI form (documents, Anthropic's server tools such as web search, their results) is refused with a
/// sentence that says so, rather than dropped: a model that silently lost a tool or a document answers wrongly.
/// </summary>
internal static class MessagesRequest
{
    /// <summary>
    /// The chat completion body for <paramref name="model"/>, or null with <paramref name="error"/> (a sentence for the
    /// client) when the call holds something an OpenAI-format provider cannot take.
    /// </summary>
    /// <param name="completionTokens">
    /// The name of the output limit: <c>max_completion_tokens</c> for OpenAI's and Azure's own APIs (whose reasoning models
    /// refuse the older name), <c>max_tokens</c> for the compatible servers, which may know only that one.
    /// </param>
    public static byte[]? ToChat(JsonObject messagesBody, string model, string completionTokens, out string? error)
    {
        error = null;
        var messages = new JsonArray();
        if (Text(messagesBody["system"], "system", out error) is { Length: > 0 } system)
        {
            messages.Add(new JsonObject { ["role"] = "system", ["content"] = system });
        }
        else if (error is not null)
        {
            return null;
        }

        if (messagesBody["messages"] is not JsonArray turns)
        {
            error = "'messages' must be a list of messages.";
            return null;
        }

        for (var i = 0; i < turns.Count; i++)
        {
            if (turns[i] is not JsonObject turn || turn["role"] is not JsonValue r || !r.TryGetValue<string>(out var role) || role is not ("user" or "assistant"))
            {
                error = $"messages[{i}] must be an object whose 'role' is user or assistant.";
                return null;
            }

            // A string is one message as it is; a list of blocks is sorted into OpenAI's messages by the role's rules.
            var content = turn["content"];
            if (content is JsonValue v && v.TryGetValue<string>(out var plain))
            {
                messages.Add(new JsonObject { ["role"] = role, ["content"] = plain });
                continue;
            }

            if (content is not JsonArray blocks)
            {
                error = $"messages[{i}].content must be a string or a list of content blocks.";
                return null;
            }

            if (!(role == "user" ? AddUser(messages, blocks, i, out error) : AddAssistant(messages, blocks, i, out error)))
            {
                return null;
            }
        }

        var body = new JsonObject { ["model"] = model, ["messages"] = messages };
        if (messagesBody["max_tokens"] is JsonValue max && max.TryGetValue<long>(out var maxTokens))
        {
            body[completionTokens] = maxTokens;
        }

        if (messagesBody["stop_sequences"] is JsonArray { Count: > 0 } stops)
        {
            body["stop"] = stops.DeepClone();
        }

        foreach (var name in (ReadOnlySpan<string>)["temperature", "top_p"])
        {
            if (messagesBody[name] is JsonValue v && v.GetValueKind() == JsonValueKind.Number)
            {
                body[name] = v.DeepClone();
            }
        }

        if (messagesBody["metadata"]?["user_id"] is JsonValue u && u.TryGetValue<string>(out var user))
        {
            body["user"] = user;
        }

        if (messagesBody["tools"] is JsonArray { Count: > 0 } tools)
        {
            var functions = new JsonArray();
            for (var t = 0; t < tools.Count; t++)
            {
                if (Function(tools[t], t, out error) is not { } function)
                {
                    return null;
                }

                functions.Add(function);
            }

            body["tools"] = functions;
        }

        if (messagesBody["tool_choice"] is JsonObject choice && !ToolChoice(choice, body, out error))
        {
            return null;
        }

        if (messagesBody["stream"] is JsonValue s && s.TryGetValue<bool>(out var stream) && stream)
        {
            // Providers send usage on a stream only when asked.
            body["stream"] = true;
            body["stream_options"] = new JsonObject { ["include_usage"] = true };
        }

        return JsonSerializer.SerializeToUtf8Bytes(body);
    }

    // A user turn: its tool results first (OpenAI wants each right after the assistant's call), then the rest as one message.
    private static bool AddUser(JsonArray messages, JsonArray blocks, int i, out string? error)
    {
        error = null;

        var texts = new List<string>();
        var images = new List<JsonObject>();
        for (var b = 0; b < blocks.Count; b++)
        {
            var block = blocks[b];
            var where = $"messages[{i}].content[{b}]";
            switch (Str(block?["type"]))
            {
                case "text":
                    texts.Add(Str(block!["text"]) ?? "");
                    break;
                case "image":
                    if (ImagePart(block!, where, out error) is not { } image)
                    {
                        return false;
                    }

                    images.Add(image);
                    break;
                case "tool_result":
                    if (Str(block!["tool_use_id"]) is not { } id)
                    {
                        error = $"{where}: a tool_result needs 'tool_use_id'.";
                        return false;
                    }

                    if (!ToolResult(block["content"], where, out var result, images, out error))
                    {
                        return false;
                    }

                    // OpenAI's tool messages have no error flag; the model reads it in the text, as Anthropic's would.
                    var failed = block["is_error"] is JsonValue e && e.TryGetValue<bool>(out var isError) && isError;
                    messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = id, ["content"] = failed ? "Error: " + result : result });
                    break;
                default:
                    error = Unsupported(where, Str(block?["type"]));
                    return false;
            }
        }

        if (images.Count == 0)
        {
            if (texts.Count > 0)
            {
                // One string: the compatible servers' chat templates take strings everywhere, lists of parts not always.
                messages.Add(new JsonObject { ["role"] = "user", ["content"] = string.Join("\n\n", texts) });
            }

            return true;
        }

        var parts = new JsonArray();
        foreach (var text in texts)
        {
            parts.Add(new JsonObject { ["type"] = "text", ["text"] = text });
        }

        foreach (var image in images)
        {
            parts.Add(image);
        }

        messages.Add(new JsonObject { ["role"] = "user", ["content"] = parts });
        return true;
    }

    // A tool result's content as text; its images go to the user message after the tool messages (tool messages take text only).
    private static bool ToolResult(JsonNode? content, string where, out string text, List<JsonObject> images, out string? error)
    {
        error = null;
        text = "";
        switch (content)
        {
            case null:
                return true;
            case JsonValue v when v.TryGetValue<string>(out var s):
                text = s;
                return true;
            case JsonArray blocks:
                var texts = new List<string>();
                for (var b = 0; b < blocks.Count; b++)
                {
                    var block = blocks[b];
                    switch (Str(block?["type"]))
                    {
                        case "text":
                            texts.Add(Str(block!["text"]) ?? "");
                            break;
                        case "image" when ImagePart(block!, $"{where}.content[{b}]", out error) is { } image:
                            images.Add(image);
                            break;
                        case "image":
                            return false;
                        default:
                            error = Unsupported($"{where}.content[{b}]", Str(block?["type"]));
                            return false;
                    }
                }

                text = string.Join("\n\n", texts);
                return true;
            default:
                error = $"{where}.content must be a string or a list of text and image blocks.";
                return false;
        }
    }

    private static bool AddAssistant(JsonArray messages, JsonArray blocks, int i, out string? error)
    {
        error = null;

        var texts = new List<string>();
        var calls = new JsonArray();
        for (var b = 0; b < blocks.Count; b++)
        {
            var block = blocks[b];
            switch (Str(block?["type"]))
            {
                case "text":
                    texts.Add(Str(block!["text"]) ?? "");
                    break;
                case "tool_use":
                    if (Str(block!["id"]) is not { } id || Str(block["name"]) is not { } name)
                    {
                        error = $"messages[{i}].content[{b}]: a tool_use needs 'id' and 'name'.";
                        return false;
                    }

                    calls.Add(new JsonObject
                    {
                        ["id"] = id,
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = name, ["arguments"] = block["input"] is JsonObject input ? input.ToJsonString() : "{}" },
                    });
                    break;
                case "thinking" or "redacted_thinking":
                    // Anthropic's signed reasoning: only Anthropic can read it back.
                    break;
                default:
                    error = Unsupported($"messages[{i}].content[{b}]", Str(block?["type"]));
                    return false;
            }
        }

        var message = new JsonObject { ["role"] = "assistant", ["content"] = texts.Count > 0 ? string.Join("\n\n", texts) : null };
        if (calls.Count > 0)
        {
            message["tool_calls"] = calls;
        }
        else if (texts.Count == 0)
        {
            return true; // a turn of thinking alone says nothing an OpenAI-format model can read
        }

        messages.Add(message);
        return true;
    }

    private static JsonObject? ImagePart(JsonNode block, string where, out string? error)
    {
        error = null;
        var source = block["source"];
        var url = Str(source?["type"]) switch
        {
            "base64" when Str(source!["media_type"]) is { } media && Str(source["data"]) is { } data => $"data:{media};base64,{data}",
            "url" => Str(source!["url"]),
            _ => null,
        };
        if (url is null)
        {
            error = $"{where}: only images given as base64 or as a URL can be sent to this model's provider.";
            return null;
        }

        return new JsonObject { ["type"] = "image_url", ["image_url"] = new JsonObject { ["url"] = url } };
    }

    private static JsonObject? Function(JsonNode? tool, int t, out string? error)
    {
        error = null;
        var type = Str(tool?["type"]);
        if (type is not (null or "custom"))
        {
            error = $"tools[{t}] is Anthropic's '{type}' tool, which Anthropic runs or defines; this model's provider runs only tools the call defines (name, description, input_schema).";
            return null;
        }

        if (Str(tool?["name"]) is not { } name)
        {
            error = $"tools[{t}] needs a 'name'.";
            return null;
        }

        var function = new JsonObject { ["name"] = name };
        if (Str(tool!["description"]) is { } description)
        {
            function["description"] = description;
        }

        function["parameters"] = tool["input_schema"] is JsonObject schema ? schema.DeepClone() : new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
        return new JsonObject { ["type"] = "function", ["function"] = function };
    }

    private static bool ToolChoice(JsonObject choice, JsonObject body, out string? error)
    {
        error = null;
        JsonNode? translated = Str(choice["type"]) switch
        {
            "auto" => "auto",
            "any" => "required",
            "none" => "none",
            "tool" when Str(choice["name"]) is { } name => new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["name"] = name } },
            _ => null,
        };
        if (translated is null)
        {
            error = "'tool_choice' must be { type: auto }, { type: any }, { type: none } or { type: tool, name }.";
            return false;
        }

        body["tool_choice"] = translated;
        if (choice["disable_parallel_tool_use"] is JsonValue d && d.TryGetValue<bool>(out var disable) && disable && body["tools"] is not null)
        {
            body["parallel_tool_calls"] = false;
        }

        return true;
    }

    // System text: a string, or text blocks joined (their cache_control has no OpenAI form, and providers cache on their own).
    private static string? Text(JsonNode? node, string where, out string? error)
    {
        error = null;
        switch (node)
        {
            case null:
                return null;
            case JsonValue v when v.TryGetValue<string>(out var s):
                return s;
            case JsonArray blocks:
                var texts = new List<string>();
                for (var b = 0; b < blocks.Count; b++)
                {
                    if (Str(blocks[b]?["type"]) != "text" || Str(blocks[b]!["text"]) is not { } text)
                    {
                        error = $"{where}[{b}] must be a text block.";
                        return null;
                    }

                    texts.Add(text);
                }

                return string.Join("\n\n", texts);
            default:
                error = $"'{where}' must be a string or a list of text blocks.";
                return null;
        }
    }

    private static string Unsupported(string where, string? type) =>
        $"{where}: a '{type ?? "(no type)"}' block cannot be sent to this model's provider, which takes text, images, tool calls and tool results; use a model with an Anthropic provider for it.";
}
