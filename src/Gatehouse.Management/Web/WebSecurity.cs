using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Gatehouse.Management.Web;

/// <summary>
/// Headers every page gets. The Content-Security-Policy allows scripts only from this origin: the pages have no inline
/// script at all (their scripts are files under <c>/assets/</c>, configured through <c>data-</c> attributes), so no
/// nonce or hash is needed and an injected <c>&lt;script&gt;</c> or event handler cannot run. The interactive-docs
/// page also allows inline styles, which Scalar's renderer sets at run time.
/// </summary>
internal static class WebSecurity
{
    private const string Policy =
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private const string DocsPolicy =
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; font-src 'self' data:; " +
        "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    public static void UseWebSecurityHeaders(this IApplicationBuilder app, Func<PathString, bool> isDocs) => app.Use((context, next) =>
    {
        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = isDocs(context.Request.Path) ? DocsPolicy : Policy;
        headers.XContentTypeOptions = "nosniff";
        headers["Referrer-Policy"] = "same-origin";
        headers.XFrameOptions = "DENY";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        return next(context);
    });
}
