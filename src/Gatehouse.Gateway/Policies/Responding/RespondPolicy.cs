using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Gatehouse.Gateway.Forwarding;
using Gatehouse.Gateway.Limiting;
using Gatehouse.Model.Config;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Primitives;

namespace Gatehouse.Gateway.Policies.Responding;

/// <summary>
/// A route's <c>respond</c> policy: the fixed answer written instead of forwarding, its bytes and headers prepared once
/// per config revision.
/// </summary>
internal sealed class RespondPolicy
{
    private readonly int _status;
    private readonly byte[] _body;
    private readonly string? _contentType;
    private readonly KeyValuePair<string, StringValues>[] _headers;
    // Headers whose value is a request reference, resolved per answer.
    private readonly (string Name, PolicyValue Value)[] _references;
    private readonly PathValue? _location;
    private readonly bool _keepQuery;

    public RespondPolicy(RespondConfig config, string[] parameters)
    {
        _status = config.Status;
        _body = Encoding.UTF8.GetBytes(config.Body);
        _contentType = config.ContentType ?? (config.Body.Length == 0 ? null : IsJson(config.Body) ? "application/json" : "text/plain; charset=utf-8");
        var values = config.Headers.Select(h => (Name: h.Key, Value: PolicyValue.Compile(h.Value))).ToArray();
        _headers = [.. values.Where(h => h.Value.Reference is null).Select(h => new KeyValuePair<string, StringValues>(h.Name, h.Value.Literal))];
        _references = [.. values.Where(h => h.Value.Reference is not null)];
        _location = config.Location is { } location ? PathValue.Compile(location, parameters) : null;
        _keepQuery = config.KeepQuery;
    }

    /// <summary>Writes the answer, with the request id and the caller's <c>RateLimit</c> fields.</summary>
    public Task WriteAsync(PolicyExchange exchange, string requestId, in LimitDecision limits)
    {
        var context = exchange.Context;
        var response = context.Response;
        response.StatusCode = _status;
        var headers = response.Headers;
        foreach (var (name, value) in _headers)
        {
            headers[name] = value;
        }

        foreach (var (name, value) in _references)
        {
            // As in a response transform: a value that finds nothing, or that a header cannot carry, is left out.
            if (value.Resolve(exchange) is { } text && HeaderRules.IsSafeValue(text))
            {
                headers[name] = text;
            }
        }

        if (_location is not null)
        {
            headers.Location = Location(exchange);
        }

        headers["X-Request-Id"] = requestId;
        LimitHeaders.Write(response, limits);
        // 1xx, 204 and 304 carry no body; neither does an answer to HEAD.
        if (_status is 204 or 304 || _body.Length == 0)
        {
            if (_status is not (204 or 304))
            {
                response.ContentLength = 0;
            }

            return Task.CompletedTask;
        }

        response.ContentType = _contentType;
        response.ContentLength = _body.Length;
        return HttpMethods.IsHead(context.Request.Method) ? Task.CompletedTask : response.Body.WriteAsync(_body, context.RequestAborted).AsTask();
    }

    private string Location(PolicyExchange exchange)
    {
        var sb = new DefaultInterpolatedStringHandler(0, 0);
        _location!.Append(ref sb, exchange);
        if (_keepQuery && exchange.Context.Request.QueryString.Value is { Length: > 1 } query)
        {
            // The query as the client sent it; anything a header cannot carry (Kestrel passes non-ASCII bytes through
            // as characters) is percent-encoded as UTF-8, so the answer's header is always valid.
            Span<byte> bytes = stackalloc byte[4];
            foreach (var rune in query.EnumerateRunes())
            {
                if (rune.Value is > 0x20 and < 0x7F)
                {
                    sb.AppendFormatted((char)rune.Value);
                    continue;
                }

                var length = rune.EncodeToUtf8(bytes);
                foreach (var b in bytes[..length])
                {
                    sb.AppendLiteral("%");
                    sb.AppendFormatted(b, "X2");
                }
            }
        }

        return sb.ToStringAndClear();
    }

    private static bool IsJson(string body)
    {
        try
        {
            using var _ = JsonDocument.Parse(body);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
