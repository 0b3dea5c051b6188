using System.Buffers;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Gatehouse.Model.Config;
using Gatehouse.Model.Operations;
using Json.Schema;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Net.Http.Headers;

namespace Gatehouse.Gateway.Policies.Validation;

/// <summary>
/// Checks a request against its operation's OpenAPI contract, with a compiled check for the common keywords
/// (<see cref="FastSchema"/>) in front of JsonSchema.Net, which decides the rest and names the errors (JSON Schema 2020-12; the
/// schemas were converted from OpenAPI 3.0 where needed when the document was read): path, query and header
/// parameters, and the body. A JSON body is read whole (up to the limit), parsed strictly (no duplicate keys, no
/// number outside a double's range, bounded nesting), checked, and sent upstream from that buffer, so what was checked
/// is exactly what the service gets. A body in a media type the operation does not declare is refused (415), never
/// passed unchecked.
/// </summary>
internal sealed class RequestValidator
{
    private static readonly Meter Meter = new("Gatehouse.Policies");
    private static readonly Counter<long> Failures = Meter.CreateCounter<long>("gatehouse.validation.failures", description: "Requests that did not fit their operation's schemas");
    private static readonly EvaluationOptions Options = new() { OutputFormat = OutputFormat.List };

    // The flag format only answers valid or not, and skips the per-keyword details and annotations that the list format
    // builds: measured at a several-fold saving on a 1 KB body (docs/benchmarks.md). Most requests are valid, so the
    // list format runs only for one that is not, to name its errors.
    private static readonly EvaluationOptions Quick = new() { OutputFormat = OutputFormat.Flag };

    private readonly Parameter[] _parameters;
    private readonly bool _bodyRequired;
    private readonly (string MediaRange, CheckedSchema? Schema)[]? _body;

    private RequestValidator(ValidationConfig config, string route, OperationContract contract)
    {
        Route = route;
        Mode = config.Request;
        MaxBodySize = config.MaxBodySize;
        _parameters = [.. contract.Parameters.Select((p, i) => new Parameter(p.Name, p.In, p.Required, Build(p.Schema, $"{route}/{p.In}/{i}"), TypeOf(p.Schema)))];
        if (contract.Body is { } body)
        {
            _bodyRequired = body.Required;
            _body = [.. body.Content.Select((c, i) => (c.Key, Build(c.Value, $"{route}/body/{i}")))];
        }
    }

    public string Route { get; }

    public ValidationMode Mode { get; }

    public long MaxBodySize { get; }

    /// <summary>The validator of a route, or null when it validates nothing (mode off, or an operation without a contract).</summary>
    public static RequestValidator? Compile(ValidationConfig? config, string route, OperationContract? contract) =>
        config is { Request: not ValidationMode.Off } && contract is not null ? new RequestValidator(config, route, contract) : null;

    /// <summary>Validates the request; the outcome says whether to go on, and the errors found.</summary>
    public async Task<ValidationOutcome> ValidateAsync(PolicyExchange exchange)
    {
        var context = exchange.Context;
        var errors = new List<ValidationError>();
        foreach (var p in _parameters)
        {
            CheckParameter(p, exchange, errors);
        }

        var refusal = await CheckBodyAsync(context, errors).ConfigureAwait(false);
        if (refusal is not null && Mode == ValidationMode.Enforce)
        {
            return refusal.Value;
        }

        if (errors.Count == 0)
        {
            return ValidationOutcome.Valid;
        }

        Failures.Add(1, new KeyValuePair<string, object?>("route", Route), new KeyValuePair<string, object?>("mode", Mode == ValidationMode.Enforce ? "enforce" : "shadow"));
        return Mode == ValidationMode.Enforce ? new ValidationOutcome(StatusCodes.Status400BadRequest, errors, null) : ValidationOutcome.Valid;
    }

    private static void CheckParameter(Parameter p, PolicyExchange exchange, List<ValidationError> errors)
    {
        var request = exchange.Context.Request;
        Microsoft.Extensions.Primitives.StringValues values;
        switch (p.In)
        {
            case "path":
                var at = Array.IndexOf(exchange.Policies.Parameters, p.Name);
                values = at >= 0 && at < exchange.Captures.Count ? exchange.Path[exchange.Captures[at]] : default;
                break;
            case "query":
                values = request.Query[p.Name];
                break;
            default:
                values = request.Headers[p.Name];
                break;
        }

        if (values.Count == 0)
        {
            if (p.Required)
            {
                errors.Add(new ValidationError(p.In, p.Name, "", $"The {p.In} parameter '{p.Name}' is required."));
            }

            return;
        }

        if (p.Schema is null)
        {
            return;
        }

        if (values.Count > 1 && p.Type != "array")
        {
            // Only an array takes a parameter more than once. Checking one of the values would let the others through
            // unchecked (?limit=1&limit=999), and services disagree on which one counts (the first, the last, all).
            errors.Add(new ValidationError(p.In, p.Name, "",
                $"The {p.In} parameter '{p.Name}' was sent {values.Count} times, and it takes one value; send it once."));
            return;
        }

        using var document = JsonDocument.Parse(Coerce(p.Type, values));
        Check(p.Schema, document.RootElement, p.In, p.Name, errors);
    }

    /// <summary>A parameter's text as the JSON value its schema's type expects (text that does not parse stays a string, and fails the type check).</summary>
    private static byte[] Coerce(string? type, Microsoft.Extensions.Primitives.StringValues values)
    {
        var buffer = new ArrayBufferWriter<byte>(64);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            if (type == "array")
            {
                writer.WriteStartArray();
                foreach (var v in values)
                {
                    foreach (var item in (v ?? "").Split(','))
                    {
                        writer.WriteStringValue(item);
                    }
                }

                writer.WriteEndArray();
            }
            else
            {
                System.Diagnostics.Debug.Assert(values.Count == 1, "a parameter sent more than once is refused before it is read, unless it is an array");
                var text = values[0] ?? "";
                if (type is "integer" && long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var l))
                {
                    writer.WriteNumberValue(l);
                }
                else if (type is "number" && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && double.IsFinite(d))
                {
                    writer.WriteNumberValue(d);
                }
                else if (type is "boolean" && text is "true" or "false")
                {
                    writer.WriteBooleanValue(text == "true");
                }
                else
                {
                    writer.WriteStringValue(text);
                }
            }
        }

        return buffer.WrittenSpan.ToArray();
    }

    private async Task<ValidationOutcome?> CheckBodyAsync(HttpContext context, List<ValidationError> errors)
    {
        if (_body is null)
        {
            return null;
        }

        var request = context.Request;
        var hasBody = request.ContentLength > 0 || (request.ContentLength is null && context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody == true);
        if (!hasBody)
        {
            if (_bodyRequired)
            {
                errors.Add(new ValidationError("body", null, "", "A request body is required."));
            }

            return null;
        }

        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var media) || media.MediaType.Value is not { } type)
        {
            return Unsupported($"The request has a body without a valid Content-Type; send one of: {Accepted()}.");
        }

        var (range, schema) = Match(type);
        if (range is null)
        {
            return Unsupported($"Content-Type '{type}' is not one this operation accepts; send one of: {Accepted()}.");
        }

        var json = type.Equals("application/json", StringComparison.OrdinalIgnoreCase) || media.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase);
        if (!json)
        {
            // A type the contract names outright (text/plain, a form) is accepted as it is; one only a wildcard covers
            // is refused when the wildcard has a schema, since the body could not be checked against it.
            return schema is not null && range.Contains('*', StringComparison.Ordinal)
                ? Unsupported($"Content-Type '{type}' cannot be checked against this operation's schema; send JSON.")
                : null;
        }

        if (media.Charset.HasValue && !media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return Unsupported($"JSON must be UTF-8 (RFC 8259); the request says charset '{media.Charset}'. Send UTF-8.");
        }

        if (Mode == ValidationMode.Shadow && (request.ContentLength is null || request.ContentLength > MaxBodySize))
        {
            return null; // shadow mode never holds back a body it cannot read whole
        }

        var body = await ReadAsync(request, context.RequestAborted).ConfigureAwait(false);
        if (body is null)
        {
            return new ValidationOutcome(StatusCodes.Status413PayloadTooLarge, null,
                $"The request body is larger than the {MaxBodySize} bytes this route checks (validate.maxBodySize); send a smaller body.");
        }

        // What was checked is what is sent.
        request.Body = new MemoryStream(body, writable: false);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 64, AllowDuplicateProperties = false });
        }
        catch (JsonException e)
        {
            errors.Add(new ValidationError("body", null, "", $"The body is not valid JSON, has a key twice, or nests deeper than 64 levels: {e.Message}"));
            return null;
        }

        using (document)
        {
            if (FindHugeNumber(document.RootElement, "") is { } pointer)
            {
                errors.Add(new ValidationError("body", null, pointer, "The number is outside the range of a double (±1.8e308); services would read it differently."));
            }

            if (schema is not null)
            {
                Check(schema, document.RootElement, "body", null, errors);
            }
        }

        return null;
    }

    private async Task<byte[]?> ReadAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBodySize)
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, ct).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > MaxBodySize)
                {
                    return null;
                }

                buffer.Write(chunk, 0, read);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.ToArray();
    }

    // The pointer is built only for the number found, on the way back up: building one per value walked (a string per
    // property and item) cost as much as checking the schema.
    private static string? FindHugeNumber(JsonElement element, string pointer) =>
        HasHugeNumber(element, out var path) ? pointer + path : null;

    private static bool HasHugeNumber(JsonElement element, out string path)
    {
        path = "";
        switch (element.ValueKind)
        {
            case JsonValueKind.Number:
                return !(element.TryGetDouble(out var d) && double.IsFinite(d));
            case JsonValueKind.Object:
                foreach (var p in element.EnumerateObject())
                {
                    if (HasHugeNumber(p.Value, out var below))
                    {
                        path = "/" + Escape(p.Name) + below;
                        return true;
                    }
                }

                return false;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (HasHugeNumber(item, out var below))
                    {
                        path = "/" + i.ToString(CultureInfo.InvariantCulture) + below;
                        return true;
                    }

                    i++;
                }

                return false;
            default:
                return false;
        }
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    internal static void Check(CheckedSchema schema, JsonElement value, string where, string? name, List<ValidationError> errors)
    {
        // The compiled check answers most requests; what it does not find valid, the library evaluates and explains.
        if (schema.Fast?.Evaluate(value) == Verdict.Valid)
        {
            return;
        }

        try
        {
            if (!schema.Library.Evaluate(value, Quick).IsValid)
            {
                Report(schema.Library.Evaluate(value, Options), where, name, errors);
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            // JsonSchema.Net compares numbers (enum, const, uniqueItems) as decimals and throws on one beyond a decimal's
            // range (±7.9e28) that a double holds: the value cannot be checked, so it does not pass (found by the
            // differential test of FastSchema; before, such a request failed with a 500).
            errors.Add(new ValidationError(where, name, "", "A number in it is too large to be checked against the schema (beyond ±7.9e28); send a smaller number, or a string."));
        }
    }

    /// <summary>Each failing keyword as one error; a missing required property is named by its own pointer (<c>/userId</c>).</summary>
    private static void Report(EvaluationResults results, string where, string? name, List<ValidationError> errors)
    {
        if (results.IsValid)
        {
            return;
        }

        var seen = new HashSet<(string, string)>();
        foreach (var detail in results.Details ?? [])
        {
            if (detail.Errors is not { Count: > 0 } found || detail.IsValid)
            {
                continue;
            }

            var pointer = detail.InstanceLocation.ToString();
            foreach (var (keyword, message) in found)
            {
                if (keyword == "required" && detail.SchemaLocation is not null)
                {
                    foreach (var missing in MissingProperties(message))
                    {
                        if (seen.Add((pointer + "/" + missing, keyword)))
                        {
                            errors.Add(new ValidationError(where, name, pointer + "/" + Escape(missing), $"'{missing}' is required."));
                        }
                    }

                    continue;
                }

                if (seen.Add((pointer, message)))
                {
                    errors.Add(new ValidationError(where, name, pointer, message));
                }
            }
        }

        if (errors.Count == 0)
        {
            errors.Add(new ValidationError(where, name, "", "The value does not fit the operation's schema."));
        }
    }

    /// <summary>The property names in JsonSchema.Net's <c>required</c> message (<c>Required properties ["a", "b"] are not present</c>).</summary>
    private static IEnumerable<string> MissingProperties(string message)
    {
        var open = message.IndexOf('[', StringComparison.Ordinal);
        var close = message.LastIndexOf(']');
        if (open < 0 || close <= open)
        {
            yield break;
        }

        string[]? names = null;
        try
        {
            names = JsonSerializer.Deserialize<string[]>(message[open..(close + 1)]);
        }
        catch (JsonException)
        {
        }

        foreach (var n in names ?? [])
        {
            yield return n;
        }
    }

    private (string? Range, CheckedSchema? Schema) Match(string type)
    {
        foreach (var exact in new[] { true, false })
        {
            foreach (var (range, schema) in _body!)
            {
                if (exact ? range.Equals(type, StringComparison.OrdinalIgnoreCase) : Covers(range, type))
                {
                    return (range, schema);
                }
            }
        }

        return (null, null);
    }

    internal static bool Covers(string range, string type)
    {
        if (range == "*/*")
        {
            return true;
        }

        var slash = range.IndexOf('/');
        return slash > 0 && range.EndsWith("/*", StringComparison.Ordinal) && type.StartsWith(range[..(slash + 1)], StringComparison.OrdinalIgnoreCase);
    }

    private string Accepted() => string.Join(", ", _body!.Select(b => b.MediaRange));

    private static ValidationOutcome Unsupported(string detail) => new(StatusCodes.Status415UnsupportedMediaType, null, detail);

    internal static CheckedSchema? Build(string? text, string id)
    {
        if (text is null)
        {
            return null;
        }

        // Each schema its own registry: two operations' schemas must never resolve each other's '$defs'.
        return new CheckedSchema(
            JsonSchema.FromText(text, new BuildOptions { SchemaRegistry = new SchemaRegistry() }, new Uri("urn:gatehouse:" + Uri.EscapeDataString(id))),
            FastSchema.TryCompile(text));
    }

    private static string? TypeOf(string? schema)
    {
        if (schema is null)
        {
            return null;
        }

        using var document = JsonDocument.Parse(schema);
        var root = document.RootElement;

        // A schema that is only a $ref ("#/$defs/Limit", as OpenAPI's $ref to components is converted) has its target's type.
        for (var hops = 0; hops < 8 && root.ValueKind == JsonValueKind.Object && !root.TryGetProperty("type", out _)
            && root.TryGetProperty("$ref", out var reference) && reference.GetString() is { } target && target.StartsWith("#/$defs/", StringComparison.Ordinal)
            && document.RootElement.TryGetProperty("$defs", out var defs) && defs.TryGetProperty(target["#/$defs/".Length..], out var found); hops++)
        {
            root = found;
        }

        if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("type", out var type))
        {
            return null;
        }

        if (type.ValueKind == JsonValueKind.String)
        {
            return type.GetString();
        }

        // ["integer", "null"]: the type that is not null.
        return type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()).FirstOrDefault(t => t != "null") : null;
    }

    private sealed record Parameter(string Name, string In, bool Required, CheckedSchema? Schema, string? Type);

    /// <summary>A schema as the library built it, and the compiled check in front of it when the schema allows one.</summary>
    internal sealed record CheckedSchema(JsonSchema Library, FastSchema? Fast);
}

/// <summary>One thing wrong with a request: where (<c>body</c>, or a parameter's place and name), the JSON pointer in it, and what.</summary>
internal sealed record ValidationError(string In, string? Name, string Pointer, string Detail);

/// <summary>What validation decided: go on (<see cref="Status"/> 0), or refuse with a status and the errors or a sentence.</summary>
internal readonly record struct ValidationOutcome(int Status, IReadOnlyList<ValidationError>? Errors, string? Detail)
{
    public static ValidationOutcome Valid => default;
}
