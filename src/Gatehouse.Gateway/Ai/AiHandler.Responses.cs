using System.Text.Json.Nodes;
using Gatehouse.Gateway.Access;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// The Responses API's state when the service keeps it (<c>ai.responses</c>): a call's <c>previous_response_id</c>
/// turned into its conversation, the response it makes kept, and <c>GET</c> and <c>DELETE …/responses/{id}</c>.
/// </summary>
internal sealed partial class AiHandler
{
    /// <summary>
    /// Reads the conversation a Responses call continues into its <c>input</c>, and says what its response is kept as
    /// (<paramref name="storeAsked"/>: the client's <c>store</c>, OpenAI's default true). Answers the client itself when
    /// the conversation is not found or the store does not answer (<see cref="KeepPlan.Answered"/>).
    /// </summary>
    private async Task<KeepPlan> PlanKeepingAsync(HttpContext context, AiServiceModel ai, JsonObject body, bool storeAsked, Admission admission, string requestId)
    {
        var application = admission.Application?.Id;
        var store = kept.For(ai.Name, ai.Responses!);
        if (!await ResolveReferencesAsync(context, ai, body, store, application, requestId).ConfigureAwait(false))
        {
            return KeepPlan.Refused;
        }

        var ownInput = application is not null && storeAsked ? AiResponses.OwnInputBytes(body) : null;
        string[] chain = [];
        if (body["conversation"] is { } conversationNamed)
        {
            return await PlanConversationAsync(context, ai, body, conversationNamed, storeAsked, store, application, ownInput, requestId).ConfigureAwait(false);
        }

        if (body["previous_response_id"] is { } named)
        {
            var previous = named is JsonValue value && value.TryGetValue<string>(out var id) ? id : named.ToJsonString();
            string[]? found;
            try
            {
                found = application is null ? null : await AiResponses.ContinueAsync(store, application, previous, body, ai.Responses!).ConfigureAwait(false);
            }
            catch (ResponseStoreUnavailableException)
            {
                await AiJson.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "api_error", "responses_unavailable",
                    "The gateway's store of kept responses did not answer, so the conversation could not be read; retry later.", requestId).ConfigureAwait(false);
                return KeepPlan.Refused;
            }

            if (found is null)
            {
                await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "previous_response_not_found",
                    application is null
                        ? $"Previous response with id '{previous}' not found: responses are kept for applications, and this call was made without an application's credentials."
                        : $"Previous response with id '{previous}' not found (it was never made with this application's credentials, was deleted, or is no longer kept: "
                          + $"the gateway keeps responses {Gatehouse.Model.Loading.Units.FormatDuration(ai.Responses!.Ttl)} after they were made or last continued, "
                          + $"and conversations of up to {AiResponses.MaxChain} responses).", requestId).ConfigureAwait(false);
                return KeepPlan.Refused;
            }

            chain = found;
        }

        return new KeepPlan(false, store, chain, ownInput);
    }

    /// <summary>
    /// Replaces each <c>item_reference</c> of the call's <c>input</c> with the output item it names, of a response the
    /// gateway keeps for the application, in the form a continuation sends it (<see cref="AiResponses.Replayable"/>; left
    /// out when that form has none), and keeps those responses <c>ttl</c> from now again. Clients that keep their history
    /// themselves send earlier answers this way when they believe the server stores them (the Vercel AI SDK does by
    /// default). False when the call was answered instead: an id not found, or ambiguous, or a store that did not answer.
    /// </summary>
    private static async Task<bool> ResolveReferencesAsync(HttpContext context, AiServiceModel ai, JsonObject body, AiResponses.ResponseStore store, string? application, string requestId)
    {
        if (body["input"] is not JsonArray input || !input.Any(ProviderState.IsItemReference))
        {
            return true;
        }

        var ids = new List<string>();
        foreach (var item in input)
        {
            if (ProviderState.IsItemReference(item))
            {
                var id = JsonNodes.Str(item!["id"]);
                if (id is not { Length: > 0 and <= AiResponses.MaxIdLength } || application is null)
                {
                    await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "item_not_found",
                        application is null
                            ? $"Item with id '{id}' not found: the gateway keeps responses, and so their items, for applications, and this call was made without an application's credentials; send the item itself in 'input'."
                            : "An 'item_reference' in 'input' must have the 'id' of an output item of a response kept for this application.", requestId).ConfigureAwait(false);
                    return false;
                }

                if (!ids.Contains(id))
                {
                    ids.Add(id);
                }
            }
        }

        Dictionary<string, (AiResponses.ItemFound Found, AiResponses.Entry? Entry)> found;
        try
        {
            found = await store.ItemsAsync(application!, ids, ai.Responses!.Ttl).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException)
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "api_error", "responses_unavailable",
                "The gateway's store of kept responses did not answer, so the items this call refers to could not be read; retry later.", requestId).ConfigureAwait(false);
            return false;
        }

        foreach (var id in ids)
        {
            var (what, _) = found[id];
            if (what == AiResponses.ItemFound.Missing)
            {
                await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "item_not_found",
                    $"Item with id '{id}' not found: it is not an output item of a response made with this application's credentials that the gateway still keeps "
                    + $"(responses are kept {Gatehouse.Model.Loading.Units.FormatDuration(ai.Responses!.Ttl)} after they were made or last used); send the item itself in 'input'.", requestId).ConfigureAwait(false);
                return false;
            }

            if (what == AiResponses.ItemFound.Ambiguous)
            {
                await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "item_reference_ambiguous",
                    $"Item id '{id}' is the id of output items of more than one kept response (this service's provider does not give items unique ids), "
                    + "so which one is meant is not known; send the item itself in 'input', or continue with 'previous_response_id' or a conversation.", requestId).ConfigureAwait(false);
                return false;
            }
        }

        // In place, last first, so that the indexes still to come do not move.
        for (var i = input.Count - 1; i >= 0; i--)
        {
            if (ProviderState.IsItemReference(input[i]))
            {
                var id = JsonNodes.Str(input[i]!["id"])!;
                if (AiResponses.ReferencedItem(found[id].Entry!, id) is { } item)
                {
                    input[i] = item;
                }
                else
                {
                    input.RemoveAt(i);
                }
            }
        }

        return true;
    }

    /// <summary>
    /// A Responses call of a conversation (<c>conversation</c>): the provider is sent the conversation's items before the
    /// call's own input, and the call's input and output are added to it when the response is whole.
    /// </summary>
    private async Task<KeepPlan> PlanConversationAsync(HttpContext context, AiServiceModel ai, JsonObject body, JsonNode named, bool storeAsked,
        AiResponses.ResponseStore store, string? application, byte[]? ownInput, string requestId)
    {
        var id = JsonNodes.Str(named) ?? JsonNodes.Str((named as JsonObject)?["id"]);
        string? refused = id is null ? "'conversation' must be a conversation's id, or an object with its 'id'."
            : body["previous_response_id"] is { } previous && previous.GetValueKind() != System.Text.Json.JsonValueKind.Null
                ? "Use 'conversation' or 'previous_response_id', not both: a conversation holds what came before."
            : !storeAsked ? "'store: false' cannot be used with 'conversation': the response is kept with the conversation it belongs to."
            : null;
        if (refused is not null)
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "invalid_value", refused, requestId).ConfigureAwait(false);
            return KeepPlan.Refused;
        }

        ConversationView? conversation;
        try
        {
            conversation = application is null || id!.Length > AiResponses.MaxIdLength ? null : await store.ConversationAsync(application, id, ai.Responses!.Ttl).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException)
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "api_error", "responses_unavailable",
                "The gateway's store of kept responses did not answer, so the conversation could not be read; retry later.", requestId).ConfigureAwait(false);
            return KeepPlan.Refused;
        }

        if (conversation is null)
        {
            await ConversationNotFoundAsync(context, id!, application is null, requestId).ConfigureAwait(false);
            return KeepPlan.Refused;
        }

        var ownNodes = AiResponses.OwnInput(body).ToArray();
        var own = ownNodes.Select(AiConversations.Input).ToArray();
        if (conversation.Items.Length + own.Length >= AiConversations.MaxItems)
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "conversation_full",
                $"Conversation '{id}' holds {conversation.Items.Length:N0} items, and a conversation holds at most {AiConversations.MaxItems:N0}; delete items or begin another.", requestId).ConfigureAwait(false);
            return KeepPlan.Refused;
        }

        var input = new JsonArray();
        foreach (var item in AiConversations.Replay(conversation))
        {
            input.Add(item);
        }

        foreach (var item in ownNodes)
        {
            input.Add(item);
        }

        body["input"] = input;
        body.Remove("conversation");
        return new KeepPlan(false, store, [], ownInput, conversation, own);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Warning,
        Message = "AI conversations: a response in conversation {Conversation} of application {Application} was answered but not added to it: {Reason}")]
    private static partial void LogNotAdded(Microsoft.Extensions.Logging.ILogger logger, string conversation, string application, string reason);

    private static Task ConversationNotFoundAsync(HttpContext context, string id, bool anonymous, string requestId) =>
        AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "conversation_not_found",
            anonymous
                ? $"Conversation with id '{id}' not found: conversations are kept for applications, and this call was made without an application's credentials."
                : $"Conversation with id '{id}' not found.", requestId);

    /// <summary>What a Responses call's response is kept as: nothing when <see cref="OwnInput"/> is null.</summary>
    /// <remarks>In a conversation, <see cref="Conversation"/> is it as the call read it, and <see cref="ConversationInput"/> the call's own input as items.</remarks>
    private readonly record struct KeepPlan(bool Answered, AiResponses.ResponseStore? Store, string[] Chain, byte[]? OwnInput, ConversationView? Conversation = null, ConversationItem[]? ConversationInput = null)
    {
        public static KeepPlan None => new(false, null, [], null);

        public static KeepPlan Refused => new(true, null, [], null);

        /// <summary>Gives the call the gateway's id for its response, and how to keep it once it is whole.</summary>
        public void Arrange(AiCall call, Admission admission, AiResponsesConfig? config, Microsoft.Extensions.Logging.ILogger logger)
        {
            if (OwnInput is not { } input || Store is not { } store || config is null)
            {
                return;
            }

            // Kept before the client has the end of the answer, so that its next call, to whichever node, finds it.
            var keepId = AiResponses.NewId();
            var application = admission.Application!.Id;
            var chain = store.WholeChains || Chain.Length <= 1 ? Chain : Chain[^1..];
            call.KeepId = keepId;
            call.KeepConversation = Conversation?.Id;
            if (Conversation is { } seen)
            {
                var conversation = seen.Id;
                var own = ConversationInput!;
                call.KeepAsync = async (final, output) =>
                {
                    if ((output ?? AiResponses.OutputToKeep(final)) is not { } kept)
                    {
                        return; // not finished: neither kept nor added to the conversation
                    }

                    await store.AddAsync(new AiResponses.Entry(keepId, application, [], input, kept, final), config).ConfigureAwait(false);
                    try
                    {
                        // The call's input, then its output, at once; a conversation deleted meanwhile or full gets nothing.
                        var outcome = (await store.AppendAsync(application, conversation, [.. own, .. AiConversations.Output(final)], config, seen).ConfigureAwait(false)).Outcome;
                        if (outcome is AiResponses.Appended.Full or AiResponses.Appended.Busy)
                        {
                            LogNotAdded(logger, conversation, application, outcome == AiResponses.Appended.Full ? "it is full (10,000 items, or ai.responses.size)" : "other calls kept changing it");
                        }
                    }
                    catch (ResponseStoreUnavailableException)
                    {
                        // The client still gets its answer; the store's outage is logged by the store.
                    }
                };
                return;
            }

            call.KeepAsync = (final, output) => (output ?? AiResponses.OutputToKeep(final)) is { } kept
                ? store.AddAsync(new AiResponses.Entry(keepId, application, chain, input, kept, final), config)
                : ValueTask.CompletedTask;
        }
    }

    private async Task KeptResponseAsync(HttpContext context, AiServiceModel ai, string path, string requestId, Admission admission)
    {
        var request = context.Request;
        var rest = path[(path.IndexOf("/responses/", StringComparison.Ordinal) + "/responses/".Length)..];
        var reading = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
        var inputItems = reading && rest.EndsWith("/input_items", StringComparison.Ordinal);
        if (inputItems)
        {
            rest = rest[..^"/input_items".Length];
        }

        if (rest.Length == 0 || rest.Contains('/', StringComparison.Ordinal) || !(reading || HttpMethods.IsDelete(request.Method)))
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "unknown_url",
                $"{request.Method} {path} is not served here: the gateway keeps responses for GET and DELETE …/responses/{{id}}, GET …/responses/{{id}}/input_items "
                + "and previous_response_id; it cancels nothing (background responses are not served).", requestId).ConfigureAwait(false);
            return;
        }

        var store = kept.For(ai.Name, ai.Responses!);
        var application = admission.Application?.Id;
        try
        {
            var entry = application is null || rest.Length > AiResponses.MaxIdLength ? null : await store.GetAsync(application, rest).ConfigureAwait(false);
            if (entry is null)
            {
                // The same answer for an id of another application as for one that never was.
                await AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "response_not_found",
                    $"Response with id '{rest}' not found.", requestId).ConfigureAwait(false);
                return;
            }

            if (inputItems)
            {
                if (await store.ChainAsync(application!, rest, ai.Responses!.Ttl).ConfigureAwait(false) is not { } chain)
                {
                    await AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "response_not_found",
                        $"The conversation of response '{rest}' is no longer whole (an earlier response of it was deleted or dropped).", requestId).ConfigureAwait(false);
                    return;
                }

                if (AiResponses.InputItemsPage(chain, request.Query, out var page) is { } invalid)
                {
                    await AiJson.WriteErrorAsync(context, StatusCodes.Status400BadRequest, "invalid_request_error", "invalid_value", invalid, requestId).ConfigureAwait(false);
                    return;
                }

                await WriteJsonAsync(context, page, requestId).ConfigureAwait(false);
                return;
            }

            if (reading)
            {
                await WriteJsonAsync(context, entry.Response, requestId).ConfigureAwait(false);
                return;
            }

            await store.DeleteAsync(application!, rest).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException)
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "api_error", "responses_unavailable",
                "The gateway's store of kept responses did not answer; retry later.", requestId).ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["id"] = rest, ["object"] = "response.deleted", ["deleted"] = true }), requestId).ConfigureAwait(false);
    }
}
