using System.Text.Json.Nodes;
using Gatehouse.Management.Revisions;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Admin;

/// <summary>An RFC 9457 problem the admin API answers with; <c>type</c> is <c>urn:gatehouse:problem:SLUG</c> (docs/problems.md).</summary>
internal sealed record AdminProblem(int Status, string Slug, string Title, string Detail, JsonObject? Extensions = null)
{
    public static AdminProblem NotFound(string what) =>
        new(StatusCodes.Status404NotFound, "admin-not-found", "Not found", $"{what} does not exist.");

    public async Task WriteAsync(HttpContext context)
    {
        var body = new JsonObject
        {
            ["type"] = "urn:gatehouse:problem:" + Slug,
            ["title"] = Title,
            ["status"] = Status,
            ["detail"] = Detail,
            ["instance"] = context.Request.Path.Value,
        };
        if (Extensions is not null)
        {
            foreach (var (key, value) in Extensions)
            {
                body[key] = value?.DeepClone();
            }
        }

        context.Response.StatusCode = Status;
        context.Response.ContentType = "application/problem+json";
        await context.Response.WriteAsync(ConfigDocument.Write(body), context.RequestAborted).ConfigureAwait(false);
    }
}
