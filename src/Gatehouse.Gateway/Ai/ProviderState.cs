using System.Text.Json.Nodes;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Keeps a call from reaching what is stored at a provider. The gateway calls every provider with its own key, so
/// whatever the provider stores (responses, conversations, files, vector stores, containers) belongs to one account that
/// every application shares: a response id or file id that one application learns would show its content to any other.
/// So Responses calls are sent with <c>store: false</c>, and a call that names provider-side state is refused with what
/// to send instead (docs/ai.md, "The Responses API").
/// </summary>
internal static class ProviderState
{
    /// <summary>
    /// Whether the body's bytes may hold a reference to provider-side content (a <c>file_id</c> or an
    /// <c>item_reference</c>), or a property name written with escapes, which could spell one: when not, the content need
    /// not be walked. A vectorized search of the bytes, against materializing every node of a long conversation.
    /// </summary>
    public static bool MayRefer(ReadOnlySpan<byte> json) =>
        json.IndexOf("file_id"u8) >= 0 || json.IndexOf("item_reference"u8) >= 0 || json.IndexOf("\\u"u8) >= 0;

    /// <summary>
    /// Why <paramref name="body"/> is refused (a code and a message for the client), or null; sets <c>store: false</c>
    /// on a Responses call. Its content is searched for references only when <paramref name="mayRefer"/>.
    /// </summary>
    /// <param name="gatewayKeeps">The service keeps responses itself (<c>ai.responses</c>): <c>previous_response_id</c>,
    /// <c>conversation</c> and <c>store: true</c> are then the gateway's to serve (<see cref="AiResponses"/>), not refused.</param>
    public static (string Code, string Message)? Refuse(JsonObject body, AiOperation operation, bool mayRefer = true, bool gatewayKeeps = false)
    {
        if (operation == AiOperation.Responses)
        {
            if (!gatewayKeeps && (Set(body["previous_response_id"]) || Set(body["conversation"])))
            {
                return ("unsupported_parameter",
                    $"'{(Set(body["previous_response_id"]) ? "previous_response_id" : "conversation")}' names state kept at the provider, which the gateway does not keep (every call is sent with store=false, "
                    + "since the provider's account is shared by every application). Send the conversation so far in 'input' "
                    + "(with include: [\"reasoning.encrypted_content\"] to carry a reasoning model's reasoning from turn to turn)"
                    + (gatewayKeeps ? "." : ", or have the gateway keep responses ('responses' in the ai service's config)."));
            }

            if ((IsTrue(body["store"]) && !gatewayKeeps) || IsTrue(body["background"]))
            {
                return ("unsupported_parameter",
                    $"'{(IsTrue(body["background"]) ? "background" : "store")}: true' asks the provider to keep the response, which the gateway does not allow: "
                    + "the provider's account is shared by every application. Leave it out (the gateway sends store=false)"
                    + (gatewayKeeps || IsTrue(body["background"]) ? "." : ", or have the gateway keep responses ('responses' in the ai service's config)."));
            }

            if (body["tools"] is JsonArray tools)
            {
                foreach (var tool in tools)
                {
                    var type = (tool?["type"] as JsonValue)?.TryGetValue<string>(out var t) == true ? t : null;
                    if (type == "file_search" || (type == "code_interpreter" && tool?["container"] is JsonValue))
                    {
                        return ("unsupported_parameter",
                            $"The '{type}' tool reads {(type == "file_search" ? "vector stores" : "a container")} kept at the provider, under an account every application shares; "
                            + (type == "file_search" ? "it is not served through the gateway." : "use container: {\"type\": \"auto\"}."));
                    }
                }
            }

            body["store"] = false;
        }

        if (operation.IsAnthropic() && body["container"] is JsonValue)
        {
            return ("unsupported_parameter",
                "'container' names a code execution container kept at the provider, under an account every application shares; leave it out for a new one.");
        }

        if (!mayRefer)
        {
            return null;
        }

        var anthropic = operation.IsAnthropic();
        var content = operation == AiOperation.Responses ? body["input"] : body["messages"];
        var found = gatewayKeeps && operation == AiOperation.Responses && content is JsonArray items ? FindBeyondItemReferences(items) : FindReference(content);
        return (found ?? (anthropic ? FindReference(body["system"]) : null)) is { } name
            ? ("unsupported_parameter",
                $"'{name}' in the {(operation == AiOperation.Responses ? "input" : "messages")} refers to something kept at the provider, under an account every application shares; "
                + (anthropic ? "send it inline instead (a base64 or URL source)."
                    : name == "item_reference" && !gatewayKeeps && operation == AiOperation.Responses
                        ? "send the item itself instead (a client that refers to earlier answers while it believes they are stored, as the Vercel AI SDK does by default, "
                          + "sends them whole with store: false), or have the gateway keep responses ('responses' in the ai service's config), which then serves item_reference to the items it keeps."
                        : "send it inline instead (file_data, image_url, or the item itself)."))
            : null;
    }

    /// <summary>True for an <c>item_reference</c> item: <c>{"type": "item_reference", "id": …}</c>.</summary>
    public static bool IsItemReference(JsonNode? item) =>
        item is JsonObject o && o["type"] is JsonValue type && type.TryGetValue<string>(out var t) && t == "item_reference";

    // When the gateway keeps responses, an item_reference in the input names an output item of one of them, which the
    // gateway sends in its place (AiHandler.ResolveReferencesAsync): only the rest of the input is searched.
    private static string? FindBeyondItemReferences(JsonArray items)
    {
        foreach (var item in items)
        {
            if (!IsItemReference(item) && FindReference(item) is { } found)
            {
                return found;
            }
        }

        return null;
    }

    private static bool Set(JsonNode? node) => node is not null && !(node is JsonValue v && v.GetValueKind() == System.Text.Json.JsonValueKind.Null);

    private static bool IsTrue(JsonNode? node) => node is JsonValue v && v.TryGetValue<bool>(out var b) && b;

    // A file id anywhere in the content (input_file, input_image, chat's file part), or a Responses item_reference.
    // The recursion is bounded by the parser's depth limit (64). Also for items added to a kept conversation, which a
    // later call sends to the provider.
    internal static string? FindReference(JsonNode? node)
    {
        switch (node)
        {
            case JsonObject o:
                if (Set(o["file_id"]))
                {
                    return "file_id";
                }

                if (o["type"] is JsonValue type && type.TryGetValue<string>(out var t) && t == "item_reference")
                {
                    return "item_reference";
                }

                foreach (var (_, value) in o)
                {
                    if (FindReference(value) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            case JsonArray a:
                foreach (var item in a)
                {
                    if (FindReference(item) is { } found)
                    {
                        return found;
                    }
                }

                return null;
            default:
                return null;
        }
    }
}
