using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Admin;

/// <summary>Reading request bodies and parameters, and writing JSON answers, the same way in every endpoint.</summary>
internal static class AdminRequests
{
    /// <summary>
    /// Reads the body as a JSON object, at most <paramref name="maxSize"/> bytes. An empty body is null when
    /// <paramref name="allowEmpty"/>. Returns the object and its text, or the problem that refuses it (400, 413).
    /// </summary>
    public static async Task<(JsonObject? Body, string Text, AdminProblem? Problem)> ReadObjectAsync(
        HttpContext context, long maxSize, bool allowEmpty = false, string objectIs = "the entry as it would be written in the config file", string limitOf = "the admin API's limit; split the change or raise the limit")
    {
        if (context.Request.ContentLength > maxSize)
        {
            return (null, "", TooLarge(context, maxSize, limitOf));
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > maxSize)
                {
                    // Read on (a bounded amount) before answering: closing with unread data in the socket makes
                    // the OS reset the connection, and the client may lose the 413 to that reset.
                    var drained = buffer.Length + read;
                    while (drained < 4 * maxSize && (read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted).ConfigureAwait(false)) > 0)
                    {
                        drained += read;
                    }

                    return (null, "", TooLarge(context, maxSize, limitOf));
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, "", TooLarge(context, maxSize, limitOf));
        }

        if (buffer.Length == 0 && allowEmpty)
        {
            return (null, "", null);
        }

        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
        }
        catch (DecoderFallbackException)
        {
            return (null, "", BadJson("The body is not UTF-8 text; send the JSON as UTF-8."));
        }

        JsonNode? node;
        try
        {
            node = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            return (null, "", BadJson($"The body is not valid JSON ({e.Message}); send one JSON object."));
        }

        if (node is not JsonObject obj)
        {
            return (null, "", BadJson($"The body must be a JSON object ({{ ... }}), {objectIs}."));
        }

        return (obj, text, null);
    }

    /// <summary>The <c>limit</c> query parameter (1–1000, default 100), or a problem.</summary>
    public static (int Limit, AdminProblem? Problem) Limit(HttpContext context)
    {
        var text = context.Request.Query["limit"].ToString();
        if (text.Length == 0)
        {
            return (100, null);
        }

        return int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var limit) && limit is >= 1 and <= 1000
            ? (limit, null)
            : (0, BadParameter("'limit' must be a whole number from 1 to 1000."));
    }

    /// <summary>The <c>before</c> query parameter as a number, or null; or a problem.</summary>
    public static (long? Before, AdminProblem? Problem) Before(HttpContext context)
    {
        var text = context.Request.Query["before"].ToString();
        if (text.Length == 0)
        {
            return (null, null);
        }

        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var before)
            ? (before, null)
            : (null, BadParameter("'before' must be a whole number (the 'next' value of the previous page)."));
    }

    public static AdminProblem BadParameter(string detail) => new(StatusCodes.Status400BadRequest, "admin-bad-parameter", "Bad parameter", detail);

    public static Task WriteJsonAsync(HttpContext context, JsonNode body, int status = StatusCodes.Status200OK)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json; charset=utf-8";
        return context.Response.WriteAsync(ConfigDocument.Write(body), context.RequestAborted);
    }

    /// <summary>A stored body as a JSON value (bodies are JSON by the store's rule).</summary>
    public static JsonNode? Json(string? body) => body is null ? null : JsonNode.Parse(body);

    private static AdminProblem TooLarge(HttpContext context, long maxSize, string limitOf)
    {
        // The rest of the body is not read, so the connection cannot carry another request.
        context.Response.Headers.Connection = "close";
        return new(StatusCodes.Status413PayloadTooLarge, "body-too-large", "Body too large", $"The body is larger than {maxSize} bytes, {limitOf}.");
    }

    private static AdminProblem BadJson(string detail) => new(StatusCodes.Status400BadRequest, "malformed-json", "Malformed JSON", detail);
}
