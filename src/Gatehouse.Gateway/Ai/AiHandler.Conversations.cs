using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Access;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// OpenAI's Conversations API, served by the gateway when the service keeps responses (<c>ai.responses</c>):
/// <c>POST …/conversations</c>, <c>GET</c>/<c>POST</c>/<c>DELETE …/conversations/{id}</c>, <c>GET</c>/<c>POST
/// …/conversations/{id}/items</c> and <c>GET</c>/<c>DELETE …/conversations/{id}/items/{item}</c>, each for the
/// application whose credentials made the conversation.
/// </summary>
internal sealed partial class AiHandler
{
    /// <summary>What follows <c>/conversations</c> in <paramref name="path"/> ("" or "/…"), or null when it names no conversation.</summary>
    private static string? ConversationPath(string path)
    {
        var at = path.IndexOf("/conversations", StringComparison.Ordinal);
        if (at < 0)
        {
            return null;
        }

        var rest = path[(at + "/conversations".Length)..];
        return rest.Length == 0 || rest[0] == '/' ? rest : null;
    }

    private async Task ConversationsAsync(HttpContext context, AiServiceModel ai, string rest, string requestId, Admission admission)
    {
        var request = context.Request;
        var parts = rest.Length <= 1 ? [] : rest[1..].Split('/');
        var reading = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
        var posting = HttpMethods.IsPost(request.Method);
        var deleting = HttpMethods.IsDelete(request.Method);
        var items = parts.Length >= 2 && parts[1] == "items";
        var served = parts.Length switch
        {
            0 => posting,
            1 => reading || posting || deleting,
            2 => items && (reading || posting),
            3 => items && (reading || deleting),
            _ => false,
        };
        if (!served || parts.Any(part => part.Length is 0 or > AiResponses.MaxIdLength))
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "unknown_url",
                $"{request.Method} {request.Path} is not served here: conversations are POST …/conversations, GET, POST and DELETE …/conversations/{{id}}, "
                + "GET and POST …/conversations/{id}/items, and GET and DELETE …/conversations/{id}/items/{item_id}.", requestId).ConfigureAwait(false);
            return;
        }

        var application = admission.Application?.Id;
        if (application is null)
        {
            // Nothing is kept for anonymous callers: there is no one it could be kept for.
            await (parts.Length == 0
                ? AiJson.WriteErrorAsync(context, StatusCodes.Status403Forbidden, "permission_error", "application_required",
                    "Conversations are kept for applications; call with an application's credentials.", requestId)
                : ConversationNotFoundAsync(context, parts[0], anonymous: true, requestId)).ConfigureAwait(false);
            return;
        }

        JsonObject? body = null;
        if (posting)
        {
            body = await ReadObjectAsync(context, requestId, parts.Length switch { 0 => ["items", "metadata"], 1 => ["metadata"], _ => ["items"] }).ConfigureAwait(false);
            if (body is null)
            {
                return;
            }
        }

        var store = kept.For(ai.Name, ai.Responses!);
        var config = ai.Responses!;
        try
        {
            switch (parts.Length)
            {
                case 0:
                    await CreateConversationAsync(context, store, config, application, body!, requestId).ConfigureAwait(false);
                    return;
                case 1 when posting:
                    if (body!["metadata"] is null)
                    {
                        await InvalidAsync(context, "'metadata' is required: the conversation's new metadata, an object of at most 16 pairs.", requestId).ConfigureAwait(false);
                        return;
                    }

                    if (AiConversations.ReadMetadata(body["metadata"], out var metadata) is { } invalidMetadata)
                    {
                        await InvalidAsync(context, invalidMetadata, requestId).ConfigureAwait(false);
                        return;
                    }

                    await AnswerAsync(context, await store.SetMetadataAsync(application, parts[0], metadata, config.Ttl).ConfigureAwait(false), parts[0], requestId,
                        conversation => AiConversations.Object(conversation)).ConfigureAwait(false);
                    return;
                case 1 when deleting:
                    if (!await store.DeleteConversationAsync(application, parts[0]).ConfigureAwait(false))
                    {
                        await ConversationNotFoundAsync(context, parts[0], anonymous: false, requestId).ConfigureAwait(false);
                        return;
                    }

                    await WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["id"] = parts[0], ["object"] = "conversation.deleted", ["deleted"] = true }), requestId).ConfigureAwait(false);
                    return;
                case 1:
                    await AnswerAsync(context, await store.ConversationAsync(application, parts[0], config.Ttl).ConfigureAwait(false), parts[0], requestId,
                        conversation => AiConversations.Object(conversation)).ConfigureAwait(false);
                    return;
                case 2 when posting:
                    await AddItemsAsync(context, store, config, application, parts[0], body!, requestId).ConfigureAwait(false);
                    return;
                case 2:
                    if (await store.ConversationAsync(application, parts[0], config.Ttl).ConfigureAwait(false) is not { } listed)
                    {
                        await ConversationNotFoundAsync(context, parts[0], anonymous: false, requestId).ConfigureAwait(false);
                        return;
                    }

                    if (AiConversations.Page(listed.Items, request.Query, out var page) is { } invalidQuery)
                    {
                        await InvalidAsync(context, invalidQuery, requestId).ConfigureAwait(false);
                        return;
                    }

                    await WriteJsonAsync(context, page, requestId).ConfigureAwait(false);
                    return;
                case 3 when deleting:
                    var (after, found) = await store.DeleteItemAsync(application, parts[0], parts[2], config.Ttl).ConfigureAwait(false);
                    if (after is not null && !found)
                    {
                        await ItemNotFoundAsync(context, parts[2], requestId).ConfigureAwait(false);
                        return;
                    }

                    await AnswerAsync(context, after, parts[0], requestId, conversation => AiConversations.Object(conversation)).ConfigureAwait(false);
                    return;
                default:
                    if (await store.ConversationAsync(application, parts[0], config.Ttl).ConfigureAwait(false) is not { } holding)
                    {
                        await ConversationNotFoundAsync(context, parts[0], anonymous: false, requestId).ConfigureAwait(false);
                        return;
                    }

                    var at = AiConversations.IndexOf(holding.Items, parts[2]);
                    if (at < 0)
                    {
                        await ItemNotFoundAsync(context, parts[2], requestId).ConfigureAwait(false);
                        return;
                    }

                    await WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(AiConversations.Listed(holding.Items[at])), requestId).ConfigureAwait(false);
                    return;
            }
        }
        catch (ResponseStoreUnavailableException)
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "api_error", "responses_unavailable",
                "The gateway's store of kept responses and conversations did not answer; retry later.", requestId).ConfigureAwait(false);
        }
    }

    private async Task CreateConversationAsync(HttpContext context, AiResponses.ResponseStore store, Model.Config.AiResponsesConfig config, string application, JsonObject body, string requestId)
    {
        var invalid = AiConversations.ReadItems(body["items"], required: false, out var items);
        var metadata = Array.Empty<byte>();
        if ((invalid ?? AiConversations.ReadMetadata(body["metadata"], out metadata)) is { } refused)
        {
            await InvalidAsync(context, refused, requestId).ConfigureAwait(false);
            return;
        }

        var conversation = new Conversation(AiConversations.NewId(), application, time.GetUtcNow().ToUnixTimeSeconds(), metadata, items);
        if (!await store.CreateConversationAsync(conversation, config).ConfigureAwait(false))
        {
            await InvalidAsync(context, $"The conversation's items are larger than the gateway keeps ({config.Size:N0} bytes, ai.responses.size).", requestId).ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, AiConversations.Object(conversation.View()), requestId).ConfigureAwait(false);
    }

    private static async Task AddItemsAsync(HttpContext context, AiResponses.ResponseStore store, Model.Config.AiResponsesConfig config, string application, string id, JsonObject body, string requestId)
    {
        if (AiConversations.ReadItems(body["items"], required: true, out var items) is { } invalid)
        {
            await InvalidAsync(context, invalid, requestId).ConfigureAwait(false);
            return;
        }

        var (outcome, added) = await store.AppendAsync(application, id, items, config).ConfigureAwait(false);
        switch (outcome)
        {
            case AiResponses.Appended.NotFound:
                await ConversationNotFoundAsync(context, id, anonymous: false, requestId).ConfigureAwait(false);
                return;
            case AiResponses.Appended.Busy:
                await AiJson.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "api_error", "conversation_busy",
                    $"Conversation '{id}' was being changed by other calls all the while; nothing was added: retry.", requestId, retryAfter: "1").ConfigureAwait(false);
                return;
            case AiResponses.Appended.Full:
                await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "conversation_full",
                    $"Conversation '{id}' cannot hold these items: a conversation holds at most {AiConversations.MaxItems:N0} items and {config.Size:N0} bytes (ai.responses.size).", requestId).ConfigureAwait(false);
                return;
        }

        AiConversations.Page(added, null, out var page);
        await WriteJsonAsync(context, page, requestId).ConfigureAwait(false);
    }

    // The conversation's answer, or 404 when it is not kept (never made by this application, deleted, or expired).
    private static Task AnswerAsync(HttpContext context, ConversationView? conversation, string id, string requestId, Func<ConversationView, byte[]> answer) =>
        conversation is null ? ConversationNotFoundAsync(context, id, anonymous: false, requestId) : WriteJsonAsync(context, answer(conversation), requestId);

    private static Task ItemNotFoundAsync(HttpContext context, string item, string requestId) =>
        AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "item_not_found", $"Item with id '{item}' not found in this conversation.", requestId);

    private static Task InvalidAsync(HttpContext context, string message, string requestId) =>
        AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "invalid_value", message, requestId);

    // A JSON object body with only the named properties; null when it was refused (the answer written).
    private static async Task<JsonObject?> ReadObjectAsync(HttpContext context, string requestId, string[] allowed)
    {
        JsonObject? body;
        byte[]? raw = null;
        try
        {
            int length;
            (raw, length) = await ReadBodyAsync(context.Request, context.RequestAborted).ConfigureAwait(false);
            body = length == 0 ? new JsonObject() : JsonNode.Parse(raw.AsSpan(0, length), documentOptions: new JsonDocumentOptions { MaxDepth = 64 }) as JsonObject;
        }
        catch (JsonException)
        {
            body = null;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await Problems.ProblemWriter.WriteBodyTooLargeAsync(context, requestId).ConfigureAwait(false);
            return null;
        }
        finally
        {
            if (raw is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(raw);
            }
        }

        if (body is null)
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "invalid_body", "The body must be a JSON object.", requestId).ConfigureAwait(false);
            return null;
        }

        foreach (var (name, _) in body)
        {
            if (Array.IndexOf(allowed, name) < 0)
            {
                await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "unknown_parameter",
                    $"Unknown parameter: '{name}'. This call takes {string.Join(" and ", allowed.Select(a => $"'{a}'"))}.", requestId).ConfigureAwait(false);
                return null;
            }
        }

        return body;
    }
}
