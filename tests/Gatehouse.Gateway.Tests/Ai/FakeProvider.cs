using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>What a <see cref="FakeProvider"/> does with the next calls.</summary>
public enum FakeFault
{
    None,
    ServerError,
    RateLimited,
    /// <summary>Refuses the call with 400, as a provider does a prompt too long for its model.</summary>
    BadRequest,
    /// <summary>
    /// Refuses the provider key with 401 and OpenAI's body for it, which repeats a masked piece of the key
    /// (<see cref="FakeProvider.KeyFragment"/>).
    /// </summary>
    Unauthorized,
    /// <summary>403, as OpenAI answers a project without access to the model.</summary>
    Forbidden,
    /// <summary>404 model_not_found, as OpenAI answers a model it does not have (Azure: a deployment).</summary>
    NotFound,
    /// <summary>Never answers (until the call is abandoned).</summary>
    Stall,
    /// <summary>Streams two chunks, then ends the response without usage or [DONE].</summary>
    CutMidStream,
    /// <summary>Streams the first chunk, waits for <see cref="FakeProvider.Release"/>, then resets the connection.</summary>
    ResetMidStream,
    /// <summary>Streams one chunk, then an event that is not JSON.</summary>
    Malformed,
    /// <summary>Streams the first chunk, then waits for <see cref="FakeProvider.Release"/>.</summary>
    Gate,
    /// <summary>Waits for <see cref="FakeProvider.Release"/> before answering a whole (not streamed) call, then answers it in full.</summary>
    HoldWhole,
    /// <summary>Sends a stream's response headers, then waits for <see cref="FakeProvider.Release"/> before its first chunk.</summary>
    GateFirstChunk,
    /// <summary>Sends a whole (not streamed) answer's headers and the first half of its body, then waits for <see cref="FakeProvider.Release"/> before the rest.</summary>
    HoldWholeBody,
    /// <summary>Waits for <see cref="FakeProvider.Release"/> before the headers of any answer, streamed or whole, then answers it.</summary>
    HoldHeaders,
}

/// <summary>What a call held by a fault (<see cref="FakeFault.HoldWhole"/>, <see cref="FakeFault.HoldWholeBody"/>, <see cref="FakeFault.HoldHeaders"/>, <see cref="FakeFault.GateFirstChunk"/>) does once released.</summary>
public enum FakeRelease
{
    /// <summary>Goes on with its answer, to its end.</summary>
    Answer,
    /// <summary>Answers 500 with OpenAI's error body (where its headers were not sent yet; otherwise resets).</summary>
    ServerError,
    /// <summary>Resets the connection, without usage.</summary>
    Reset,
}

/// <summary>
/// An OpenAI-compatible provider written for the tests, on loopback: chat (JSON and SSE with the usage chunk and
/// [DONE]), the Responses API (JSON, and its typed events ending in response.completed), embeddings and models, with
/// faults set by <see cref="Fault"/>. It records what it received and the usage it reported (the ground truth the
/// gateway's counts are checked against).
/// </summary>
internal sealed class FakeProvider : IAsyncDisposable
{
    private readonly TestBackend _backend;

    private FakeProvider(TestBackend backend) => _backend = backend;

    /// <summary>The API base (<c>http://127.0.0.1:PORT/v1</c>).</summary>
    public string BaseUrl => _backend.Url + "/v1";

    /// <summary>The server's root (<c>http://127.0.0.1:PORT</c>), an Azure OpenAI resource's endpoint.</summary>
    public string Root => _backend.Url;

    public FakeFault Fault { get; set; }

    /// <summary>Words in each answer (one token per word, one chunk per word when streamed).</summary>
    public int AnswerWords { get; set; } = 5;

    /// <summary>
    /// Responses API answers get an item id of their own (<c>msg_fake_N</c>, N counting the answers) and begin with
    /// <c>rN</c> instead of <c>w1</c>, as OpenAI's do; otherwise every answer's message is <c>msg_fake</c>, as some
    /// compatible servers do.
    /// </summary>
    public bool UniqueItemIds { get; set; }

    private int _responses;

    /// <summary>
    /// Responses API calls with <c>tools</c> whose input does not end with a tool's output are answered with a call of
    /// the first function tool (<see cref="ToolArguments"/>), as a model that wants the tool's answer first; the call
    /// after the output gets the text. Off: such calls get the text at once.
    /// </summary>
    public bool ResponsesCallTools { get; set; }

    public ConcurrentQueue<(string? Authorization, string Path, JsonObject Body, IHeaderDictionary Headers, string Query)> Received { get; } = new();

    /// <summary>Total tokens this provider reported in usage.</summary>
    public long ReportedTokens => Interlocked.Read(ref _reported);

    private long _reported;

    public TaskCompletionSource FirstChunkSent { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set once a call held by <see cref="FakeFault.Gate"/> or <see cref="FakeFault.HoldWhole"/> was given up by its caller before <see cref="Release"/>.</summary>
    public TaskCompletionSource Abandoned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Each chat answer has <c>max_tokens</c> words (or <see cref="AnswerWords"/> without it): a length of each call's own.</summary>
    public bool AnswerToMaxTokens { get; set; }

    /// <summary>A pause after each chunk of a streamed chat answer, as a model generating.</summary>
    public TimeSpan ChunkDelay { get; set; }

    /// <summary>Off: streams end without the usage chunk even when it is asked for, as some compatible servers do.</summary>
    public bool ReportsUsage { get; set; } = true;

    /// <summary>When above 0: a streamed chat answer stops after that many chunks and sends nothing more until it is given up.</summary>
    public int StallAfterChunks { get; set; }

    public TaskCompletionSource Release { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>What a held call does once released: by default it answers.</summary>
    public FakeRelease Released { get; set; }

    /// <summary>A key as OpenAI's 401 shows it: its first 8 characters, stars, and its last 4.</summary>
    public static string KeyFragment(string key) => key.Length < 12 ? new string('*', key.Length) : key[..8] + new string('*', key.Length - 12) + key[^4..];

    public static async Task<FakeProvider> StartAsync()
    {
        FakeProvider? self = null;
        var backend = await TestBackend.StartAsync(app => app.Run(c => self!.HandleAsync(c)));
        self = new FakeProvider(backend);
        return self;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await JsonNode.ParseAsync(context.Request.Body) as JsonObject ?? [];
        // The headers copied: Kestrel reuses the request's header collection once the request is over.
        var headers = new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase));
        Received.Enqueue((context.Request.Headers.Authorization.ToString() is { Length: > 0 } a ? a : null, context.Request.Path.Value ?? "", body, headers, context.Request.QueryString.Value ?? ""));
        switch (Fault)
        {
            case FakeFault.ServerError:
                context.Response.StatusCode = 500;
                await context.Response.WriteAsync("""{"error":{"message":"boom","type":"server_error"}}""");
                return;
            case FakeFault.RateLimited:
                context.Response.StatusCode = 429;
                context.Response.Headers.RetryAfter = "7";
                await context.Response.WriteAsync("""{"error":{"message":"slow down","type":"rate_limit"}}""");
                return;
            case FakeFault.BadRequest:
                context.Response.StatusCode = 400;
                await context.Response.WriteAsync("""{"error":{"message":"This model's maximum context length is 8192 tokens.","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}""");
                return;
            case FakeFault.Unauthorized:
                // OpenAI's own words for a revoked or wrong key, with the key masked as it masks it.
                context.Response.StatusCode = 401;
                await context.Response.WriteAsJsonAsync(new { error = new { message = $"Incorrect API key provided: {KeyFragment(context.Request.Headers.Authorization.ToString().Replace("Bearer ", "", StringComparison.Ordinal))}. You can find your API key at https://platform.openai.com/account/api-keys.", type = "invalid_request_error", param = (string?)null, code = "invalid_api_key" } });
                return;
            case FakeFault.Forbidden:
                context.Response.StatusCode = 403;
                await context.Response.WriteAsJsonAsync(new { error = new { message = $"Project `proj_fake` does not have access to model `{body["model"]}`", type = "invalid_request_error", param = (string?)null, code = "model_not_found" } });
                return;
            case FakeFault.NotFound:
                context.Response.StatusCode = 404;
                await context.Response.WriteAsJsonAsync(new { error = new { message = $"The model `{body["model"]}` does not exist or you do not have access to it.", type = "invalid_request_error", param = (string?)null, code = "model_not_found" } });
                return;
            case FakeFault.Stall:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
                return;
            case FakeFault.HoldHeaders:
                if (await HeldAsync(context))
                {
                    return;
                }

                break;
        }

        var model = body["model"]?.GetValue<string>() ?? "?";
        var prompt = 7;
        if (context.Request.Path.Value!.EndsWith("/embeddings", StringComparison.Ordinal))
        {
            Interlocked.Add(ref _reported, prompt);
            await context.Response.WriteAsJsonAsync(new { @object = "list", model, data = new[] { new { @object = "embedding", index = 0, embedding = new[] { 0.25f, 0.5f, 0.75f } } }, usage = new { prompt_tokens = prompt, total_tokens = prompt } });
            return;
        }

        if (context.Request.Path.Value!.EndsWith("/responses", StringComparison.Ordinal))
        {
            await RespondAsync(context, body, model, prompt);
            return;
        }

        if (body["tools"] is JsonArray { Count: > 0 } tools)
        {
            await CallToolAsync(context, body, model, prompt, tools[0]!["function"]!["name"]!.GetValue<string>());
            return;
        }

        var words = Enumerable.Range(1, AnswerToMaxTokens && body["max_tokens"] is { } max ? max.GetValue<int>() : AnswerWords).Select(i => $"w{i}").ToArray();
        var usage = new { prompt_tokens = prompt, completion_tokens = words.Length, total_tokens = prompt + words.Length };
        if (body["stream"]?.GetValue<bool>() != true)
        {
            if (Fault == FakeFault.HoldWhole && await HeldAsync(context))
            {
                return;
            }

            var whole = JsonSerializer.SerializeToUtf8Bytes(new
            {
                id = "chatcmpl-fake", @object = "chat.completion", created = 1, model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = string.Join(' ', words) }, finish_reason = "stop" } },
                usage,
            });
            context.Response.ContentType = "application/json";
            if (Fault == FakeFault.HoldWholeBody)
            {
                // The headers and half the body reach the caller, the usage (at the end) not yet.
                await context.Response.Body.WriteAsync(whole.AsMemory(0, whole.Length / 2));
                await context.Response.Body.FlushAsync();
                FirstChunkSent.TrySetResult();
                if (await HeldAsync(context))
                {
                    return;
                }

                whole = whole[(whole.Length / 2)..];
            }

            Interlocked.Add(ref _reported, usage.total_tokens);
            await context.Response.Body.WriteAsync(whole);
            return;
        }

        context.Response.ContentType = "text/event-stream";
        if (Fault == FakeFault.GateFirstChunk)
        {
            await context.Response.StartAsync();
            await context.Response.Body.FlushAsync();
            if (await HeldAsync(context))
            {
                return;
            }
        }

        for (var i = 0; i < words.Length; i++)
        {
            await SendAsync(context, new { id = "chatcmpl-fake", @object = "chat.completion.chunk", created = 1, model, choices = new[] { new { index = 0, delta = new { content = (i == 0 ? "" : " ") + words[i] }, finish_reason = (string?)null } } });
            if (await StopsAfterChunkAsync(context, i, "data: {not json\n\n"))
            {
                return;
            }

            if (StallAfterChunks == i + 1)
            {
                await HoldAsync(context, Timeout.InfiniteTimeSpan);
            }

            if (ChunkDelay > TimeSpan.Zero)
            {
                await Task.Delay(ChunkDelay, context.RequestAborted);
            }
        }

        await SendAsync(context, new { id = "chatcmpl-fake", @object = "chat.completion.chunk", created = 1, model, choices = new[] { new { index = 0, delta = new { content = "" }, finish_reason = "stop" } } });
        if (ReportsUsage && body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
        {
            Interlocked.Add(ref _reported, usage.total_tokens);
            await SendAsync(context, new { id = "chatcmpl-fake", @object = "chat.completion.chunk", created = 1, model, choices = Array.Empty<object>(), usage });
        }

        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    /// <summary>The arguments a call with tools gets: its first tool called with them, after <see cref="ToolPreamble"/>.</summary>
    public const string ToolArguments = """{"city":"Paris"}""";

    public const string ToolPreamble = "Checking.";

    /// <summary>The tokens of an answer with a tool call: the preamble's and the arguments' (one for each of the 3 fragments streamed, and 2 more).</summary>
    public const int ToolCompletionTokens = 6;

    // A call with tools: a sentence, then the first tool called (whole, or streamed as the arguments' fragments), with
    // the usage (and 3 of the prompt's 7 tokens read from the cache).
    private async Task CallToolAsync(HttpContext context, JsonObject body, string model, int prompt, string tool)
    {
        var usage = new { prompt_tokens = prompt, completion_tokens = ToolCompletionTokens, total_tokens = prompt + ToolCompletionTokens, prompt_tokens_details = new { cached_tokens = 3 } };
        if (body["stream"]?.GetValue<bool>() != true)
        {
            Interlocked.Add(ref _reported, usage.total_tokens);
            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-tool", @object = "chat.completion", created = 1, model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = ToolPreamble, tool_calls = new[] { new { id = "call_1", type = "function", function = new { name = tool, arguments = ToolArguments } } } }, finish_reason = "tool_calls" } },
                usage,
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        object Chunk(object delta, string? finish = null) => new { id = "chatcmpl-tool", @object = "chat.completion.chunk", created = 1, model, choices = new[] { new { index = 0, delta, finish_reason = finish } } };
        await SendAsync(context, Chunk(new { role = "assistant", content = ToolPreamble }));
        FirstChunkSent.TrySetResult();
        if (Fault == FakeFault.Gate)
        {
            await HoldAsync(context);
        }

        await SendAsync(context, Chunk(new { tool_calls = new[] { new { index = 0, id = "call_1", type = "function", function = new { name = tool, arguments = "" } } } }));
        foreach (var fragment in (string[])["{\"city\"", ":\"Par", "is\"}"])
        {
            await SendAsync(context, Chunk(new { tool_calls = new[] { new { index = 0, function = new { arguments = fragment } } } }));
        }

        await SendAsync(context, Chunk(new { }, "tool_calls"));
        if (ReportsUsage && body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
        {
            Interlocked.Add(ref _reported, usage.total_tokens);
            await SendAsync(context, new { id = "chatcmpl-tool", @object = "chat.completion.chunk", created = 1, model, choices = Array.Empty<object>(), usage });
        }

        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    // OpenAI's Responses API: a response object, or its stream of typed events ending in response.completed (no [DONE]).
    private async Task RespondAsync(HttpContext context, JsonObject body, string model, int prompt)
    {
        var words = Enumerable.Range(1, AnswerWords).Select(i => $"w{i}").ToArray();
        var itemId = "msg_fake";
        if (UniqueItemIds)
        {
            var n = Interlocked.Increment(ref _responses);
            itemId = $"msg_fake_{n}";
            words[0] = $"r{n}";
        }

        var text = string.Join(' ', words);
        var usage = new { input_tokens = prompt, input_tokens_details = new { cached_tokens = 0 }, output_tokens = words.Length, output_tokens_details = new { reasoning_tokens = 0 }, total_tokens = prompt + words.Length };
        object Message(string status, string content) => new { type = "message", id = itemId, status, role = "assistant", content = new[] { new { type = "output_text", text = content, annotations = Array.Empty<object>() } } };
        object Response(string status, object[] output, object? used) => new { id = "resp_fake", @object = "response", created_at = 1, status, model, output, usage = used, store = body["store"]?.GetValue<bool>() };
        var tool = ResponsesCallTools && body["input"] is JsonArray input && input.LastOrDefault()?["type"]?.GetValue<string>() != "function_call_output"
            ? (body["tools"] as JsonArray)?.FirstOrDefault(t => t?["type"]?.GetValue<string>() == "function")?["name"]?.GetValue<string>()
            : null;
        var callId = $"call_{itemId}";
        object Call(string status, string arguments) => new { type = "function_call", id = "fc" + itemId[3..], status, call_id = callId, name = tool, arguments };
        if (tool is not null && body["stream"]?.GetValue<bool>() != true)
        {
            Interlocked.Add(ref _reported, usage.total_tokens);
            await context.Response.WriteAsJsonAsync(Response("completed", [Call("completed", ToolArguments)], usage));
            return;
        }

        if (body["stream"]?.GetValue<bool>() != true)
        {
            Interlocked.Add(ref _reported, usage.total_tokens);
            await context.Response.WriteAsJsonAsync(Response("completed", [Message("completed", text)], usage));
            return;
        }

        context.Response.ContentType = "text/event-stream";
        var sequence = 0;
        Task Event(string type, object fields)
        {
            var json = JsonSerializer.SerializeToNode(fields)!.AsObject();
            json.Insert(0, "type", type);
            json["sequence_number"] = sequence++;
            return SendEventAsync(context, type, json.ToJsonString());
        }

        await Event("response.created", new { response = Response("in_progress", [], null) });
        if (tool is not null)
        {
            var fc = "fc" + itemId[3..];
            await Event("response.output_item.added", new { output_index = 0, item = Call("in_progress", "") });
            await Event("response.function_call_arguments.delta", new { item_id = fc, output_index = 0, delta = ToolArguments });
            await Event("response.function_call_arguments.done", new { item_id = fc, output_index = 0, arguments = ToolArguments });
            await Event("response.output_item.done", new { output_index = 0, item = Call("completed", ToolArguments) });
            Interlocked.Add(ref _reported, usage.total_tokens);
            await Event("response.completed", new { response = Response("completed", [Call("completed", ToolArguments)], usage) });
            return;
        }

        await Event("response.output_item.added", new { output_index = 0, item = new { type = "message", id = itemId, status = "in_progress", role = "assistant", content = Array.Empty<object>() } });
        await Event("response.content_part.added", new { item_id = itemId, output_index = 0, content_index = 0, part = new { type = "output_text", text = "", annotations = Array.Empty<object>() } });
        for (var i = 0; i < words.Length; i++)
        {
            await Event("response.output_text.delta", new { item_id = itemId, output_index = 0, content_index = 0, delta = (i == 0 ? "" : " ") + words[i], logprobs = Array.Empty<object>() });
            if (await StopsAfterChunkAsync(context, i, "event: response.output_text.delta\ndata: {not json\n\n"))
            {
                return;
            }
        }

        await Event("response.output_text.done", new { item_id = itemId, output_index = 0, content_index = 0, text, logprobs = Array.Empty<object>() });
        await Event("response.content_part.done", new { item_id = itemId, output_index = 0, content_index = 0, part = new { type = "output_text", text, annotations = Array.Empty<object>() } });
        await Event("response.output_item.done", new { output_index = 0, item = Message("completed", text) });
        Interlocked.Add(ref _reported, usage.total_tokens);
        await Event("response.completed", new { response = Response("completed", [Message("completed", text)], usage) });
    }

    // The stream faults, after chunk `index` was sent: true when the stream is to end there.
    private async Task<bool> StopsAfterChunkAsync(HttpContext context, int index, string malformed)
    {
        if (index == 0)
        {
            FirstChunkSent.TrySetResult();
            if (Fault is FakeFault.Gate or FakeFault.ResetMidStream)
            {
                await HoldAsync(context);
                if (Fault == FakeFault.ResetMidStream)
                {
                    context.Abort();
                    return true;
                }
            }
            else if (Fault == FakeFault.Malformed)
            {
                await context.Response.WriteAsync(malformed);
                return true;
            }
        }

        return index == 1 && Fault == FakeFault.CutMidStream;
    }

    // Waits for Release, then does what Released says: true when the response is over (failed).
    private async Task<bool> HeldAsync(HttpContext context)
    {
        await HoldAsync(context);
        if (Released == FakeRelease.ServerError && !context.Response.HasStarted)
        {
            context.Response.StatusCode = 500;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"error":{"message":"The server had an error while processing your request.","type":"server_error"}}""");
            return true;
        }

        if (Released != FakeRelease.Answer)
        {
            context.Abort();
            return true;
        }

        return false;
    }

    // Waits for Release (or forever); a caller that gives the call up first is noted (Abandoned).
    private async Task HoldAsync(HttpContext context, TimeSpan? forever = null)
    {
        try
        {
            await (forever is null ? Release.Task : Task.Delay(forever.Value)).WaitAsync(context.RequestAborted);
        }
        catch (OperationCanceledException)
        {
            Abandoned.TrySetResult();
            throw;
        }
    }

    private static async Task SendEventAsync(HttpContext context, string type, string json)
    {
        await context.Response.WriteAsync("event: " + type + "\ndata: " + json + "\n\n");
        await context.Response.Body.FlushAsync();
    }

    private static async Task SendAsync(HttpContext context, object chunk)
    {
        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk) + "\n\n");
        await context.Response.Body.FlushAsync();
    }

    public ValueTask DisposeAsync() => _backend.DisposeAsync();
}
