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
}

/// <summary>
/// An OpenAI-compatible provider written for the tests, on loopback: chat (JSON and SSE with the usage chunk and
/// [DONE]), embeddings and models, with faults set by <see cref="Fault"/>. It records what it received and the usage it
/// reported (the ground truth the gateway's counts are checked against).
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

    public ConcurrentQueue<(string? Authorization, string Path, JsonObject Body, IHeaderDictionary Headers, string Query)> Received { get; } = new();

    /// <summary>Total tokens this provider reported in usage.</summary>
    public long ReportedTokens => Interlocked.Read(ref _reported);

    private long _reported;

    public TaskCompletionSource FirstChunkSent { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource Release { get; private set; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

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
            case FakeFault.Stall:
                await Task.Delay(Timeout.Infinite, context.RequestAborted).ContinueWith(_ => { });
                return;
        }

        var model = body["model"]?.GetValue<string>() ?? "?";
        var prompt = 7;
        if (context.Request.Path.Value!.EndsWith("/embeddings", StringComparison.Ordinal))
        {
            Interlocked.Add(ref _reported, prompt);
            await context.Response.WriteAsJsonAsync(new { @object = "list", model, data = new[] { new { @object = "embedding", index = 0, embedding = new[] { 0.25f, 0.5f, 0.75f } } }, usage = new { prompt_tokens = prompt, total_tokens = prompt } });
            return;
        }

        var words = Enumerable.Range(1, AnswerWords).Select(i => $"w{i}").ToArray();
        var usage = new { prompt_tokens = prompt, completion_tokens = words.Length, total_tokens = prompt + words.Length };
        if (body["stream"]?.GetValue<bool>() != true)
        {
            Interlocked.Add(ref _reported, usage.total_tokens);
            await context.Response.WriteAsJsonAsync(new
            {
                id = "chatcmpl-fake", @object = "chat.completion", created = 1, model,
                choices = new[] { new { index = 0, message = new { role = "assistant", content = string.Join(' ', words) }, finish_reason = "stop" } },
                usage,
            });
            return;
        }

        context.Response.ContentType = "text/event-stream";
        for (var i = 0; i < words.Length; i++)
        {
            await SendAsync(context, new { id = "chatcmpl-fake", @object = "chat.completion.chunk", created = 1, model, choices = new[] { new { index = 0, delta = new { content = (i == 0 ? "" : " ") + words[i] }, finish_reason = (string?)null } } });
            if (i == 0)
            {
                FirstChunkSent.TrySetResult();
                if (Fault is FakeFault.Gate or FakeFault.ResetMidStream)
                {
                    await Release.Task.WaitAsync(context.RequestAborted);
                    if (Fault == FakeFault.ResetMidStream)
                    {
                        context.Abort();
                        return;
                    }
                }
                else if (Fault == FakeFault.Malformed)
                {
                    await context.Response.WriteAsync("data: {not json\n\n");
                    return;
                }
            }

            if (i == 1 && Fault == FakeFault.CutMidStream)
            {
                return;
            }
        }

        await SendAsync(context, new { id = "chatcmpl-fake", @object = "chat.completion.chunk", created = 1, model, choices = new[] { new { index = 0, delta = new { content = "" }, finish_reason = "stop" } } });
        if (body["stream_options"]?["include_usage"]?.GetValue<bool>() == true)
        {
            Interlocked.Add(ref _reported, usage.total_tokens);
            await SendAsync(context, new { id = "chatcmpl-fake", @object = "chat.completion.chunk", created = 1, model, choices = Array.Empty<object>(), usage });
        }

        await context.Response.WriteAsync("data: [DONE]\n\n");
    }

    private static async Task SendAsync(HttpContext context, object chunk)
    {
        await context.Response.WriteAsync("data: " + JsonSerializer.Serialize(chunk) + "\n\n");
        await context.Response.Body.FlushAsync();
    }

    public ValueTask DisposeAsync() => _backend.DisposeAsync();
}
