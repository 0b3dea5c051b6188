using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Ai;

/// <summary>What a <see cref="FakeAnthropic"/> does with the next calls.</summary>
public enum AnthropicFault
{
    None,
    /// <summary>500 with Anthropic's error body.</summary>
    ServerError,
    /// <summary>529 overloaded_error, Anthropic's "try elsewhere".</summary>
    Overloaded,
    /// <summary>400 invalid_request_error.</summary>
    BadRequest,
    /// <summary>401 authentication_error, as Anthropic answers a wrong or revoked key.</summary>
    Unauthorized,
    /// <summary>Never answers (until the call is abandoned).</summary>
    Stall,
    /// <summary>A stream whose first event is an error event.</summary>
    ErrorFirst,
    /// <summary>Streams the first text delta, then an error event.</summary>
    ErrorMidStream,
    /// <summary>Streams the first text delta, then waits for <see cref="FakeAnthropic.Release"/>.</summary>
    Gate,
}

/// <summary>
/// Anthropic's Messages API (<c>POST /v1/messages</c>) as the tests need it, written from Anthropic's public docs, on
/// loopback: a Message whole or as its event stream (message_start, content blocks with text and input_json deltas,
/// ping, message_delta with usage, message_stop). It answers "a1 a2 … aN", or a tool_use block when the call offers
/// tools and its last turn is not a tool result; and <c>POST /v1/messages/count_tokens</c>. It records what it received
/// and the tokens it reported.
/// </summary>
internal sealed class FakeAnthropic : IAsyncDisposable
{
    /// <summary>Input tokens reported (plus <see cref="CacheRead"/> read from the prompt cache).</summary>
    public const int InputTokens = 11;

    public const int CacheRead = 2;

    private readonly TestBackend _backend;
    private long _reported;

    private FakeAnthropic(TestBackend backend) => _backend = backend;

    /// <summary>The API base (<c>http://127.0.0.1:PORT/v1</c>).</summary>
    public string BaseUrl => _backend.Url + "/v1";

    public AnthropicFault Fault { get; set; }

    public int AnswerWords { get; set; } = 4;

    /// <summary>The stop_reason of text answers.</summary>
    public string StopReason { get; set; } = "end_turn";

    public ConcurrentQueue<(string Path, IHeaderDictionary Headers, JsonObject Body)> Received { get; } = new();

    /// <summary>Total tokens reported in usage (input, cache and output).</summary>
    public long ReportedTokens => Interlocked.Read(ref _reported);

    public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Set once a call held by <see cref="AnthropicFault.Gate"/> was given up by its caller before <see cref="Release"/>.</summary>
    public TaskCompletionSource Abandoned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public static async Task<FakeAnthropic> StartAsync()
    {
        FakeAnthropic? self = null;
        var backend = await TestBackend.StartAsync(app => app.Run(c => self!.HandleAsync(c)));
        self = new FakeAnthropic(backend);
        return self;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await JsonNode.ParseAsync(context.Request.Body) as JsonObject ?? [];
        // A copy: Kestrel reuses the request's header collection once the request is over.
        Received.Enqueue((context.Request.Path.Value ?? "", new HeaderDictionary(context.Request.Headers.ToDictionary(h => h.Key, h => h.Value, StringComparer.OrdinalIgnoreCase)), body));
        switch (Fault)
        {
            case AnthropicFault.ServerError:
                await ErrorAsync(context, 500, "api_error", "Internal server error");
                return;
            case AnthropicFault.Overloaded:
                await ErrorAsync(context, 529, "overloaded_error", "Overloaded");
                return;
            case AnthropicFault.BadRequest:
                await ErrorAsync(context, 400, "invalid_request_error", "messages: text content blocks must be non-empty");
                return;
            case AnthropicFault.Unauthorized:
                await ErrorAsync(context, 401, "authentication_error", "invalid x-api-key");
                return;
            case AnthropicFault.Stall:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
                return;
        }

        var model = body["model"]?.GetValue<string>() ?? "?";
        if (context.Request.Path.Value!.EndsWith("/messages/count_tokens", StringComparison.Ordinal))
        {
            await context.Response.WriteAsJsonAsync(new { input_tokens = InputTokens });
            return;
        }

        var lastTurn = body["messages"]?.AsArray().LastOrDefault()?["content"];
        var toolResult = lastTurn is JsonArray blocks && blocks.Any(b => b?["type"]?.GetValue<string>() == "tool_result");
        var tool = body["tools"] is JsonArray { Count: > 0 } tools && !toolResult ? tools[0]!["name"]!.GetValue<string>() : null;
        var words = Enumerable.Range(1, AnswerWords).Select(i => $"a{i}").ToArray();
        var output = tool is null ? words.Length : 9;
        var stop = tool is null ? StopReason : "tool_use";
        Interlocked.Add(ref _reported, InputTokens + CacheRead + output);

        if (body["stream"]?.GetValue<bool>() != true)
        {
            object content = tool is null
                ? new object[] { new { type = "text", text = string.Join(' ', words) } }
                : new object[] { new { type = "text", text = "Let me look." }, new { type = "tool_use", id = "toolu_01", name = tool, input = new { city = "Paris", days = 2 } } };
            await context.Response.WriteAsJsonAsync(new
            {
                id = "msg_fake", type = "message", role = "assistant", model, content, stop_reason = stop, stop_sequence = (string?)null,
                usage = new { input_tokens = InputTokens, cache_creation_input_tokens = 0, cache_read_input_tokens = CacheRead, output_tokens = output },
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        if (Fault == AnthropicFault.ErrorFirst)
        {
            await EventAsync(context, "error", new { type = "error", error = new { type = "overloaded_error", message = "Overloaded" } });
            return;
        }

        await EventAsync(context, "message_start", new
        {
            type = "message_start",
            message = new { id = "msg_fake", type = "message", role = "assistant", content = Array.Empty<object>(), model, stop_reason = (string?)null, usage = new { input_tokens = InputTokens, cache_creation_input_tokens = 0, cache_read_input_tokens = CacheRead, output_tokens = 1 } },
        });
        await EventAsync(context, "ping", new { type = "ping" });
        if (tool is null)
        {
            await EventAsync(context, "content_block_start", new { type = "content_block_start", index = 0, content_block = new { type = "text", text = "" } });
            for (var i = 0; i < words.Length; i++)
            {
                await EventAsync(context, "content_block_delta", new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text = (i == 0 ? "" : " ") + words[i] } });
                if (i == 0 && Fault == AnthropicFault.ErrorMidStream)
                {
                    await EventAsync(context, "error", new { type = "error", error = new { type = "overloaded_error", message = "Overloaded" } });
                    return;
                }

                if (i == 0 && Fault == AnthropicFault.Gate)
                {
                    try
                    {
                        await Release.Task.WaitAsync(context.RequestAborted);
                    }
                    catch (OperationCanceledException)
                    {
                        Abandoned.TrySetResult();
                        throw;
                    }
                }
            }

            await EventAsync(context, "content_block_stop", new { type = "content_block_stop", index = 0 });
        }
        else
        {
            await EventAsync(context, "content_block_start", new { type = "content_block_start", index = 0, content_block = new { type = "text", text = "" } });
            await EventAsync(context, "content_block_delta", new { type = "content_block_delta", index = 0, delta = new { type = "text_delta", text = "Let me look." } });
            await EventAsync(context, "content_block_stop", new { type = "content_block_stop", index = 0 });
            await EventAsync(context, "content_block_start", new { type = "content_block_start", index = 1, content_block = new { type = "tool_use", id = "toolu_01", name = tool, input = new { } } });
            foreach (var part in (string[])["", "{\"city\": \"Pa", "ris\", \"days\"", ": 2}"])
            {
                await EventAsync(context, "content_block_delta", new { type = "content_block_delta", index = 1, delta = new { type = "input_json_delta", partial_json = part } });
            }

            await EventAsync(context, "content_block_stop", new { type = "content_block_stop", index = 1 });
        }

        await EventAsync(context, "message_delta", new { type = "message_delta", delta = new { stop_reason = stop, stop_sequence = (string?)null }, usage = new { output_tokens = output } });
        await EventAsync(context, "message_stop", new { type = "message_stop" });
    }

    private static async Task ErrorAsync(HttpContext context, int status, string type, string message)
    {
        context.Response.StatusCode = status;
        await context.Response.WriteAsJsonAsync(new { type = "error", error = new { type, message } });
    }

    private static async Task EventAsync(HttpContext context, string name, object data)
    {
        await context.Response.WriteAsync($"event: {name}\ndata: {JsonSerializer.Serialize(data)}\n\n");
        await context.Response.Body.FlushAsync();
    }

    public ValueTask DisposeAsync() => _backend.DisposeAsync();
}
