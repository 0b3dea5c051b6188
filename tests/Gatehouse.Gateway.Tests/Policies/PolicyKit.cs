using System.Collections.Concurrent;
using Gatehouse.Gateway.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Tests.Policies;

/// <summary>A real upstream that records every request it got (path and query, headers, body) and answers as told.</summary>
internal sealed class RecordingBackend : IAsyncDisposable
{
    private readonly TestBackend _backend;

    private RecordingBackend(TestBackend backend, ConcurrentQueue<Seen> seen)
    {
        _backend = backend;
        Seen = seen;
    }

    public string Url => _backend.Url;

    public ConcurrentQueue<Seen> Seen { get; }

    public int Count => Seen.Count;

    /// <summary>Starts a backend whose answer <paramref name="answer"/> writes (after the request was recorded).</summary>
    public static async Task<RecordingBackend> StartAsync(Func<HttpContext, int, Task>? answer = null)
    {
        var seen = new ConcurrentQueue<Seen>();
        var backend = await TestBackend.StartAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            var raw = context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpRequestFeature>()!.RawTarget;
            seen.Enqueue(new Seen(context.Request.Method, raw, context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase), body));
            if (answer is not null)
            {
                await answer(context, seen.Count);
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync($"{{\"n\":{seen.Count},\"target\":\"{raw.Replace("\"", "'", StringComparison.Ordinal)}\"}}");
        });
        return new RecordingBackend(backend, seen);
    }

    public ValueTask DisposeAsync() => _backend.DisposeAsync();
}

/// <summary>One request as the upstream saw it.</summary>
internal sealed record Seen(string Method, string Target, Dictionary<string, string> Headers, string Body);

internal static class PolicyHttp
{
    public static async Task<(HttpResponseMessage Response, string Body)> SendAsync(HttpClient client, HttpMethod method, string path, params (string Name, string Value)[] headers)
    {
        using var request = new HttpRequestMessage(method, path);
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        var response = await client.SendAsync(request);
        return (response, await response.Content.ReadAsStringAsync());
    }

    public static string? Header(this HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values) ? string.Join(",", values) : null;
}
