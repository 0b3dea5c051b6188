using System.Globalization;
using System.Text.Json;
using Gatehouse.Gateway.Observability;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Policies.Validation;

/// <summary>
/// The shadow contract check of a service's answers (<c>validate.response: shadow</c>): a JSON response is checked
/// against the operation's response schema for its status (exact, then <c>2XX</c>, then <c>default</c>) and media type,
/// with the same checks as requests. It never changes or holds a response: the body is copied as it passes
/// (up to <see cref="MaxBodySize"/>), and checked on the thread pool after the response is sent. A mismatch is
/// counted (<c>gatehouse.validation.response.mismatches</c>, by route and status) and logged with the JSON pointer of
/// its first error, never the body.
/// </summary>
internal sealed partial class ResponseValidator
{
    private readonly Dictionary<string, (string MediaRange, RequestValidator.CheckedSchema Schema)[]> _byStatus;
    private readonly ILogger _log;

    private ResponseValidator(ValidationConfig config, string route, OperationContract contract, ILogger log)
    {
        Route = route;
        MaxBodySize = config.MaxBodySize;
        _log = log;
        _byStatus = new Dictionary<string, (string, RequestValidator.CheckedSchema)[]>(StringComparer.OrdinalIgnoreCase);
        foreach (var (status, content) in contract.Responses)
        {
            var schemas = content
                .Select((c, i) => (c.Key, Schema: RequestValidator.Build(c.Value, $"{route}/response/{status}/{i}")))
                .Where(c => c.Schema is not null)
                .Select(c => (c.Key, c.Schema!))
                .ToArray();
            if (schemas.Length > 0)
            {
                _byStatus[status] = schemas;
            }
        }
    }

    public string Route { get; }

    /// <summary>Largest body checked (<c>validate.maxBodySize</c>); a larger one is skipped and counted.</summary>
    public long MaxBodySize { get; }

    /// <summary>The route's response check; null when it has none (mode off, no contract, or no response schema).</summary>
    public static ResponseValidator? Compile(ValidationConfig? config, string route, OperationContract? contract, ILogger log)
    {
        if (config is not { Response: ResponseValidationMode.Shadow } || contract is null)
        {
            return null;
        }

        var validator = new ResponseValidator(config, route, contract, log);
        return validator._byStatus.Count > 0 ? validator : null;
    }

    /// <summary>Whether a response with this status and content type has a schema to be checked against (decided at its headers).</summary>
    public bool Wants(int status, string? contentType) => Schema(status, contentType) is not null;

    /// <summary>Counts a response that was not checked because its body is larger than the limit.</summary>
    public void Skipped() => GatewayMetrics.ResponseSkipped(Route);

    /// <summary>Checks <paramref name="body"/> off the request path: the caller does not wait for it.</summary>
    public void CheckLater(int status, string? contentType, ReadOnlyMemory<byte> body, string requestId) =>
        ThreadPool.UnsafeQueueUserWorkItem(state => state.Validator.Check(state.Status, state.ContentType, state.Body, state.RequestId),
            (Validator: this, Status: status, ContentType: contentType, Body: body, RequestId: requestId), preferLocal: false);

    /// <summary>Checks one response body; returns the errors found (empty when it fits).</summary>
    internal IReadOnlyList<ValidationError> Check(int status, string? contentType, ReadOnlyMemory<byte> body, string requestId)
    {
        var errors = new List<ValidationError>();
        if (Schema(status, contentType) is not { } schema)
        {
            return errors;
        }

        try
        {
            using var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
            RequestValidator.Check(schema, document.RootElement, "body", null, errors);
        }
        catch (JsonException)
        {
            errors.Add(new ValidationError("body", null, "", "The body is not valid JSON, has a key twice, or nests deeper than 64 levels."));
        }

        GatewayMetrics.ResponseChecked(Route);
        if (errors.Count > 0)
        {
            GatewayMetrics.ResponseMismatch(Route, status);
            LogMismatch(_log, Route, status, errors.Count, errors[0].Pointer, requestId);
        }

        return errors;
    }

    private RequestValidator.CheckedSchema? Schema(int status, string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || media.MediaType.Value is not { } type
            || !(type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase)))
        {
            return null;
        }

        var code = status.ToString(CultureInfo.InvariantCulture);
        if (!_byStatus.TryGetValue(code, out var schemas) && !_byStatus.TryGetValue(code[0] + "XX", out schemas) && !_byStatus.TryGetValue("default", out schemas))
        {
            return null;
        }

        foreach (var exact in (bool[])[true, false])
        {
            foreach (var (range, schema) in schemas)
            {
                if (exact ? range.Equals(type, StringComparison.OrdinalIgnoreCase) : RequestValidator.Covers(range, type))
                {
                    return schema;
                }
            }
        }

        return null;
    }

    [LoggerMessage(EventId = 2303, Level = LogLevel.Warning,
        Message = "Route {Route}: the service's {Status} response does not fit the operation's response schema ({Count} errors, the first at '{Pointer}'); delivered unchanged (request {RequestId}).")]
    private static partial void LogMismatch(ILogger logger, string route, int status, int count, string pointer, string requestId);
}
