using System.Buffers;
using System.Collections.Frozen;
using System.Globalization;
using System.Text.Json;
using Gatehouse.Gateway.Forwarding;
using Gatehouse.Model.Compositions;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Gatehouse.Gateway.Policies.Transforms;

/// <summary>
/// A route's response transforms: headers and status, applied when the service's response headers have been copied;
/// and a JSON body reshaped with a composition template, which needs the whole body (bounded by
/// <see cref="MaxBodySize"/>), so only a route with <c>body</c> reads bodies whole. A 2xx answer the body transform
/// cannot reshape (not JSON, compressed, too large, unreadable) is never passed on unshaped: the client gets a 502,
/// and the refusal is logged.
/// </summary>
internal sealed partial class ResponseTransform
{
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private readonly string[] _remove;
    private readonly (string Name, PolicyValue Value)[] _set;
    private readonly (string Name, PolicyValue Value)[] _add;
    private readonly (string Name, PolicyValue Value)[] _setFromRequest;
    private readonly (string Name, PolicyValue Value)[] _addFromRequest;
    private readonly FrozenDictionary<int, int> _status;
    private readonly string _route;
    private readonly ILogger _log;

    private ResponseTransform(ResponseTransformConfig config, string route, ILogger log)
    {
        _route = route;
        _log = log;
        _remove = [.. config.Headers?.Remove ?? []];
        (string Name, PolicyValue Value)[] set = [.. (config.Headers?.Set ?? new Dictionary<string, string>()).Select(p => (p.Key, PolicyValue.Compile(p.Value)))];
        (string Name, PolicyValue Value)[] add = [.. (config.Headers?.Add ?? new Dictionary<string, string>()).Select(p => (p.Key, PolicyValue.Compile(p.Value)))];

        // A header with any value from the request is written whole in ApplyRequestValues (its set, then its adds, as in
        // one pass), so splitting the values in two passes never reorders what one header gets.
        var fromRequest = set.Concat(add).Where(h => h.Value.Reference is not null).Select(h => h.Name).ToHashSet(StringComparer.OrdinalIgnoreCase);
        _set = [.. set.Where(h => !fromRequest.Contains(h.Name))];
        _add = [.. add.Where(h => !fromRequest.Contains(h.Name))];
        _setFromRequest = [.. set.Where(h => fromRequest.Contains(h.Name))];
        _addFromRequest = [.. add.Where(h => fromRequest.Contains(h.Name))];
        _status = config.Status.ToFrozenDictionary(p => int.Parse(p.Key, CultureInfo.InvariantCulture), p => p.Value);
        if (config.Body is { } body)
        {
            // Validation compiled it without errors already; compiling again gives the Template to run.
            Body = new TemplateCompiler(["response"], (_, _) => { }).Compile(body, "body", [], new HashSet<string>());
        }

        MaxBodySize = config.MaxBodySize;
    }

    public static ResponseTransform? Compile(ResponseTransformConfig? config, string route, ILogger log) => config is null ? null : new ResponseTransform(config, route, log);

    /// <summary>The body template, or null when bodies stream through.</summary>
    public Template? Body { get; }

    public long MaxBodySize { get; }

    /// <summary>
    /// Applies the status mapping, the removals and the header values that are the same for every request (literals): what
    /// a cached answer keeps. The values taken from the request come after, in <see cref="ApplyRequestValues"/>.
    /// </summary>
    public void ApplyHeaders(HttpResponse response, PolicyExchange exchange)
    {
        if (_status.Count > 0 && _status.TryGetValue(response.StatusCode, out var mapped))
        {
            response.StatusCode = mapped;
        }

        var headers = response.Headers;
        foreach (var name in _remove)
        {
            headers.Remove(name);
        }

        Write(headers, _set, _add, exchange);
    }

    /// <summary>
    /// Writes the headers whose values come from the request (<c>@request.id</c>, <c>@request.headers.NAME</c>, …) on
    /// every answer: on the service's after the cache has judged and kept it, and on every answer from the cache, so a
    /// hit carries its own request's values, never those of the request that filled the cache.
    /// </summary>
    public void ApplyRequestValues(HttpResponse response, PolicyExchange exchange) => Write(response.Headers, _setFromRequest, _addFromRequest, exchange);

    private static void Write(IHeaderDictionary headers, (string Name, PolicyValue Value)[] set, (string Name, PolicyValue Value)[] add, PolicyExchange exchange)
    {
        foreach (var (name, value) in set)
        {
            // A value that could not be written safely (it came from the request) is left out, never written.
            if (value.Resolve(exchange) is { } text && HeaderRules.IsSafeValue(text))
            {
                headers[name] = text;
            }
            else
            {
                headers.Remove(name);
            }
        }

        foreach (var (name, value) in add)
        {
            if (value.Resolve(exchange) is { } text && HeaderRules.IsSafeValue(text))
            {
                headers.Append(name, text);
            }
        }
    }

    /// <summary>
    /// Whether a 2xx answer is read for the body transform: every one that may carry a body (all but 204 and 205). One
    /// that is not JSON is read too, only to be refused (<see cref="IsJson"/>): the template may exist to keep fields from
    /// clients, so its answer is never passed on unshaped.
    /// </summary>
    public static bool Reshapes(int status) => status is >= 200 and < 300 and not (StatusCodes.Status204NoContent or StatusCodes.Status205ResetContent);

    /// <summary>Whether a response's <c>Content-Type</c> is JSON the body transform reads (<c>application/json</c> or a <c>+json</c> type).</summary>
    public static bool IsJson(string? contentType) =>
        contentType is not null && Microsoft.Net.Http.Headers.MediaTypeHeaderValue.TryParse(contentType, out var media)
        && (media.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase));

    /// <summary>Reshapes <paramref name="body"/>; null when it is not JSON the template can read (then the client gets a 502).</summary>
    public byte[]? Reshape(ReadOnlyMemory<byte> body, int status, IHeaderDictionary responseHeaders, PolicyExchange exchange)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException)
        {
            return null;
        }

        using (document)
        {
            var root = document.RootElement;
            var evaluator = new ElementEvaluator(RequestValues.Roots(exchange, part => part switch
            {
                "body" => ElementValue.Of(root),
                "status" => ElementValue.Number(status.ToString(CultureInfo.InvariantCulture)),
                _ => ElementValue.Fields([.. responseHeaders.Select(h => new KeyValuePair<string, ElementValue>(h.Key.ToLowerInvariant(), ElementValue.String(h.Value.ToString())))]),
            }));
            var buffer = new ArrayBufferWriter<byte>(body.Length + 64);
            using (var writer = new Utf8JsonWriter(buffer, WriterOptions))
            {
                evaluator.Write(Body!, writer);
            }

            return buffer.WrittenSpan.ToArray();
        }
    }

    /// <summary>Logs an answer the body transform refused (the client gets 502 <c>transform-failed</c>).</summary>
    public void Refused(int status, string reason, string requestId) => LogRefused(_log, _route, status, reason, requestId);

    [LoggerMessage(EventId = 2304, Level = LogLevel.Warning,
        Message = "Route {Route}: the service's {Status} answer was not passed on, since the route's body transform cannot reshape it ({Reason}); the client got 502 transform-failed (request {RequestId}).")]
    private static partial void LogRefused(ILogger logger, string route, int status, string reason, string requestId);
}
