using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Gatehouse.Examples.Shop.Hosting;

/// <summary>
/// Turns a request the endpoint could not bind (a body that is not JSON, <c>?userId=abc</c>) into a 400
/// problem that says what was wrong, instead of a bare "Bad Request".
/// </summary>
/// <remarks>The messages name the parameter and the JSON path; they carry no server state, so they are safe to show.</remarks>
internal sealed class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException badRequest)
        {
            return false;
        }

        var detail = badRequest.InnerException is JsonException json
            ? $"{badRequest.Message} {json.Message}"
            : badRequest.Message;

        httpContext.Response.StatusCode = badRequest.StatusCode;
        return await problemDetails.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = httpContext,
            Exception = exception,
            ProblemDetails = new ProblemDetails
            {
                Status = badRequest.StatusCode,
                Title = "The request could not be read",
                Detail = detail,
            },
        }).ConfigureAwait(false);
    }
}
