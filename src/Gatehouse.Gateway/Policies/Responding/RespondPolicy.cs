using System.Text;
using System.Text.Json;
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

    public RespondPolicy(RespondConfig config)
    {
        _status = config.Status;
        _body = Encoding.UTF8.GetBytes(config.Body);
        _contentType = config.ContentType ?? (config.Body.Length == 0 ? null : IsJson(config.Body) ? "application/json" : "text/plain; charset=utf-8");
        _headers = [.. config.Headers.Select(h => new KeyValuePair<string, StringValues>(h.Key, h.Value))];
    }

    /// <summary>Writes the answer, with the request id and the caller's <c>RateLimit</c> fields.</summary>
    public Task WriteAsync(HttpContext context, string requestId, in LimitDecision limits)
    {
        var response = context.Response;
        response.StatusCode = _status;
        var headers = response.Headers;
        foreach (var (name, value) in _headers)
        {
            headers[name] = value;
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
