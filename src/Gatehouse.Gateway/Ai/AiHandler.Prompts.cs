using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Gateway.Access;
using Gatehouse.Gateway.Problems;
using Json.Schema;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Ai;

/// <summary>
/// Prompts as operations (docs/ai.md): the body is checked against the prompt's input schema, fills its messages, and
/// goes to the prompt's alias as a chat call with the alias's fallback and token limits; the answer's text comes back as
/// <c>{ OUTPUT: text }</c>. Being a REST operation, its errors are problem+json, not OpenAI's shape.
/// </summary>
internal sealed partial class AiHandler
{
    private static readonly EvaluationOptions SchemaOptions = new() { OutputFormat = OutputFormat.List };

    private static readonly JsonWriterOptions PromptWriterOptions = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private async Task PromptAsync(HttpContext context, AiServiceModel ai, AiPrompt prompt, string requestId, Admission admission)
    {
        JsonNode? parsed;
        try
        {
            parsed = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        }
        catch (JsonException)
        {
            parsed = null;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await ProblemWriter.WriteBodyTooLargeAsync(context, requestId).ConfigureAwait(false);
            return;
        }

        if (parsed is not JsonObject input)
        {
            await InvalidAsync(context, requestId, "The body must be a JSON object of the prompt's variables; the operation's request body schema says which.",
                [("", "The body is not a JSON object.")]).ConfigureAwait(false);
            return;
        }

        var errors = new List<(string Pointer, string Detail)>();
        EvaluationResults results;
        try
        {
            results = prompt.Schema.Evaluate(JsonSerializer.SerializeToElement(input), SchemaOptions);
        }
        catch (Exception e) when (e is FormatException or OverflowException)
        {
            await InvalidAsync(context, requestId, "A number in the body is too large to be checked against the schema (beyond ±7.9e28); send a smaller number, or a string.", [("", "A number is too large.")]).ConfigureAwait(false);
            return;
        }

        if (!results.IsValid)
        {
            foreach (var detail in results.Details ?? [])
            {
                foreach (var (keyword, message) in detail.Errors ?? new Dictionary<string, string>())
                {
                    errors.Add((detail.InstanceLocation.ToString(), keyword == "required" ? $"{message}; send it in the body." : message));
                }
            }

            if (errors.Count == 0)
            {
                errors.Add(("", "The body does not fit the prompt's input schema."));
            }

            await InvalidAsync(context, requestId, $"The body does not fit the input schema of prompt '{prompt.Name}': {errors[0].Detail}", errors).ConfigureAwait(false);
            return;
        }

        if (prompt.Fill(input, out var missing) is not { } body)
        {
            await InvalidAsync(context, requestId, $"The body lacks the variable{(missing!.Count > 1 ? "s" : "")} {string.Join(", ", missing!.Select(m => $"'{m}'"))} of prompt '{prompt.Name}'; send {(missing!.Count > 1 ? "them" : "it")} as {(missing!.Count > 1 ? "properties" : "a property")} of the body (not null).",
                [.. missing!.Select(m => ("/" + m, $"The variable '{m}' is missing."))]).ConfigureAwait(false);
            return;
        }

        var (reservation, refusal) = await tokens.AdmitAsync(admission, prompt.Alias, body, AiOperation.Chat, ai.Aliases[prompt.Alias].Targets).ConfigureAwait(false);
        if (refusal is { } limited)
        {
            var (type, title) = limited.Spend ? ("spend-limit-exceeded", "Spend limit exceeded") : ("token-limit-exceeded", "Token limit exceeded");
            await ProblemWriter.WriteAsync(context, StatusCodes.Status429TooManyRequests, type, title, limited.Sentence + ".", requestId,
                [new("Retry-After", limited.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture))]).ConfigureAwait(false);
            return;
        }

        // The chat call writes its answer (or its OpenAI-shaped error) here; it becomes the operation's answer below.
        var response = context.Response;
        var original = response.Body;
        using var buffer = new MemoryStream();
        response.Body = buffer;
        var call = new AiCall(context, requestId, reservation, clientAskedUsage: false);
        try
        {
            await SendAsync(call, ai, prompt.Alias, ai.Aliases[prompt.Alias].Order(Random.Shared), body, AiOperation.Chat, stream: false).ConfigureAwait(false);
        }
        finally
        {
            response.Body = original;
            SettleWhenRead(call, reservation, admission, prompt.Alias);
        }

        if (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        await AnswerAsync(context, prompt, response.StatusCode, buffer.ToArray(), response.Headers.RetryAfter.ToString(), requestId).ConfigureAwait(false);
    }

    private static async Task AnswerAsync(HttpContext context, AiPrompt prompt, int status, byte[] bytes, string retryAfter, string requestId)
    {
        JsonNode? json = null;
        try
        {
            json = bytes.Length == 0 ? null : JsonNode.Parse(bytes);
        }
        catch (JsonException)
        {
        }

        if (status is >= 200 and < 300)
        {
            if (json?["choices"]?[0]?["message"]?["content"] is JsonValue content && content.GetValueKind() == JsonValueKind.String)
            {
                var buffer = new ArrayBufferWriter<byte>(256);
                using (var writer = new Utf8JsonWriter(buffer, PromptWriterOptions))
                {
                    writer.WriteStartObject();
                    writer.WriteString(prompt.Output, content.GetValue<string>());
                    writer.WriteEndObject();
                }

                var response = context.Response;
                response.Clear();
                response.StatusCode = StatusCodes.Status200OK;
                response.ContentType = "application/json";
                response.ContentLength = buffer.WrittenCount;
                response.Headers["X-Request-Id"] = requestId;
                await response.Body.WriteAsync(buffer.WrittenMemory, context.RequestAborted).ConfigureAwait(false);
                return;
            }

            await ProblemWriter.WriteAsync(context, StatusCodes.Status502BadGateway, "prompt-no-answer", "The model gave no text",
                $"The model behind '{prompt.Alias}' answered without text for prompt '{prompt.Name}'; retry, or check the prompt.", requestId).ConfigureAwait(false);
            return;
        }

        // The chat call's error (OpenAI's shape, from a provider or the gateway) as problem+json with the same status.
        var message = json?["error"]?["message"] is JsonValue m && m.GetValueKind() == JsonValueKind.String ? m.GetValue<string>() : "The model call failed.";
        var (slug, title) = status switch
        {
            StatusCodes.Status429TooManyRequests => ("prompt-rate-limited", "The model's providers are rate-limiting"),
            StatusCodes.Status504GatewayTimeout => ("prompt-timeout", "No model provider answered in time"),
            >= 500 => ("prompt-failed", "No model provider could answer"),
            _ => ("prompt-refused", "The model provider refused the call"),
        };
        await ProblemWriter.WriteAsync(context, status, slug, title, message, requestId,
            status == StatusCodes.Status429TooManyRequests && retryAfter.Length > 0 ? [new("Retry-After", retryAfter)] : null).ConfigureAwait(false);
    }

    private static Task InvalidAsync(HttpContext context, string requestId, string detail, IReadOnlyList<(string Pointer, string Detail)> errors) =>
        ProblemWriter.WriteAsync(context, StatusCodes.Status400BadRequest, "invalid-request", "The request does not fit the operation", detail, requestId,
            extensions: json =>
            {
                json.WriteStartArray("errors");
                foreach (var (pointer, text) in errors)
                {
                    json.WriteStartObject();
                    json.WriteString("in", "body");
                    json.WriteString("pointer", pointer);
                    json.WriteString("detail", text);
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            });
}
