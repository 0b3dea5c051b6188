using Gatehouse.Gateway.Access;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Gateway.Ai;

/// <summary><c>GET</c> and <c>DELETE …/responses/{id}</c> of a service that keeps responses (<c>ai.responses</c>).</summary>
internal sealed partial class AiHandler
{
    private async Task KeptResponseAsync(HttpContext context, AiServiceModel ai, string path, string requestId, Admission admission)
    {
        var request = context.Request;
        var rest = path[(path.LastIndexOf("/responses/", StringComparison.Ordinal) + "/responses/".Length)..];
        var reading = HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method);
        if (rest.Length == 0 || rest.Contains('/', StringComparison.Ordinal) || !(reading || HttpMethods.IsDelete(request.Method)))
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "unknown_url",
                $"{request.Method} {path} is not served here: the gateway keeps responses for GET and DELETE …/responses/{{id}} and for "
                + "previous_response_id; it lists no input items and cancels nothing (background responses are not served).", requestId).ConfigureAwait(false);
            return;
        }

        var store = kept.For(ai.Name, ai.Responses!);
        var application = admission.Application?.Id;
        try
        {
            var entry = application is null || rest.Length > 128 ? null : await store.GetAsync(application, rest).ConfigureAwait(false);
            if (entry is null)
            {
                // The same answer for an id of another application as for one that never was.
                await AiJson.WriteErrorAsync(context, StatusCodes.Status404NotFound, "invalid_request_error", "response_not_found",
                    $"Response with id '{rest}' not found.", requestId).ConfigureAwait(false);
                return;
            }

            if (reading)
            {
                await WriteJsonAsync(context, entry.Response, requestId).ConfigureAwait(false);
                return;
            }

            await store.DeleteAsync(application!, rest).ConfigureAwait(false);
        }
        catch (ResponseStoreUnavailableException)
        {
            await AiJson.WriteErrorAsync(context, StatusCodes.Status503ServiceUnavailable, "api_error", "responses_unavailable",
                "The gateway's store of kept responses did not answer; retry later.", requestId).ConfigureAwait(false);
            return;
        }

        await WriteJsonAsync(context, System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object> { ["id"] = rest, ["object"] = "response.deleted", ["deleted"] = true }), requestId).ConfigureAwait(false);
    }
}
