using Microsoft.AspNetCore.Components;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Gatehouse.Management.Web;

/// <summary>Renders a page component on the server (static SSR through <see cref="RazorComponentResult{TComponent}"/>): no circuit, no WebAssembly.</summary>
internal static class WebRender
{
    public static Task PageAsync<TPage>(HttpContext context, object parameters, int status = StatusCodes.Status200OK)
        where TPage : IComponent
    {
        // Pages show per-user data and tokens: never cached, never stored.
        context.Response.Headers.CacheControl = "no-store";
        return new RazorComponentResult<TPage>(parameters) { StatusCode = status }.ExecuteAsync(context);
    }

    /// <summary>Answers a refused form post with the status the form reader chose and a page that says why.</summary>
    public static Task ProblemAsync(HttpContext context, WebPage page, int status, string message, string back = "/") =>
        PageAsync<Problem>(context, new { Page = page with { Title = status == StatusCodes.Status413PayloadTooLarge ? "Too large" : status == StatusCodes.Status404NotFound ? "Not found" : "Not done" }, Message = message, Back = back }, status);
}
