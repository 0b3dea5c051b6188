using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Gatehouse.Management.Web;

/// <summary>
/// Reads a posted form for a page: a form post of at most <see cref="MaxFormBytes"/>, urlencoded, with a valid
/// antiforgery token, or a refusal (400, or 413 when too large) that the page renders. Nothing is changed before this
/// returns a form, so a refused post writes nothing.
/// </summary>
internal static class WebForms
{
    /// <summary>The largest form accepted: the biggest field (a description) is 1,000 characters.</summary>
    public const int MaxFormBytes = 16 * 1024;

    /// <summary>The address and port this connection reached, as the socket says: never the request's <c>Host</c> header, which the client chose.</summary>
    public static string ConnectionOrigin(HttpContext context)
    {
        var ip = context.Connection.LocalIpAddress ?? System.Net.IPAddress.Loopback;
        if (ip.IsIPv4MappedToIPv6)
        {
            ip = ip.MapToIPv4();
        }

        var host = ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{ip}]" : ip.ToString();
        return $"{(context.Request.IsHttps ? "https" : "http")}://{host}:{context.Connection.LocalPort}";
    }

    /// <summary>
    /// The request's <c>returnUrl</c> when it is a path of this site under <paramref name="root"/>, with its query (where
    /// a sign-in returns to), else null: never another host (<c>//host</c>, <c>/\host</c>, an absolute URL), so it is no
    /// open redirect. Only printable ASCII, as the site's own links escape it: a browser may read a control character,
    /// a space or a Unicode line separator as something else, and Kestrel would refuse it in the <c>Location</c> header.
    /// </summary>
    public static string? ReturnUrl(HttpContext context, string root)
    {
        var value = context.Request.Query["returnUrl"].ToString();
        return value.Length is > 0 and <= 2048 && value.StartsWith(root, StringComparison.Ordinal) && value.StartsWith('/')
            && !value.StartsWith("//", StringComparison.Ordinal) && !value.StartsWith("/\\", StringComparison.Ordinal)
            && !value.Any(c => c is <= ' ' or > '~' or '\\')
            ? value
            : null;
    }

    public static async Task<(IFormCollection? Form, int Status, string? Error)> ReadAsync(HttpContext context)
    {
        var request = context.Request;
        if (request.ContentLength > MaxFormBytes)
        {
            return (null, StatusCodes.Status413PayloadTooLarge, $"The form is larger than {MaxFormBytes / 1024} KB; nothing was changed.");
        }

        if (!request.HasFormContentType || !request.ContentType!.StartsWith("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase))
        {
            return (null, StatusCodes.Status400BadRequest, "This address takes a form post (application/x-www-form-urlencoded); nothing was changed.");
        }

        var size = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (size is { IsReadOnly: false })
        {
            size.MaxRequestBodySize = MaxFormBytes;
        }

        try
        {
            var form = await request.ReadFormAsync(new FormOptions { ValueCountLimit = 64, ValueLengthLimit = MaxFormBytes, KeyLengthLimit = 128 }, context.RequestAborted).ConfigureAwait(false);
            var antiforgery = context.RequestServices.GetRequiredService<IAntiforgery>();
            if (!await antiforgery.IsRequestValidAsync(context).ConfigureAwait(false))
            {
                return (null, StatusCodes.Status400BadRequest, "The form's security token is missing or stale (the page may be old, or the post came from another site). Reload the page and send it again; nothing was changed.");
            }

            return (form, StatusCodes.Status200OK, null);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            return (null, StatusCodes.Status413PayloadTooLarge, $"The form is larger than {MaxFormBytes / 1024} KB; nothing was changed.");
        }
        catch (Exception e) when (e is InvalidDataException or BadHttpRequestException or IOException)
        {
            return (null, StatusCodes.Status400BadRequest, "The form could not be read; nothing was changed. Send it again from the page.");
        }
    }

    /// <summary>The antiforgery token to put in this request's forms (and set its cookie).</summary>
    public static string Token(HttpContext context) =>
        context.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(context).RequestToken!;

    public static string Field(this IFormCollection form, string name) => form[name].ToString();

    /// <summary>
    /// The field a form that cannot be undone carries to say its user meant it (the console's "sure" checkbox, the
    /// portal's confirmation page), with <see cref="ConfirmValue"/>.
    /// </summary>
    public const string ConfirmField = "confirm";

    /// <summary>The value of <see cref="ConfirmField"/> that confirms.</summary>
    public const string ConfirmValue = "yes";

    /// <summary>Whether the form says its user meant what cannot be undone (<c>confirm=yes</c>).</summary>
    public static bool Confirmed(this IFormCollection form) => form.Field(ConfirmField) == ConfirmValue;

    /// <summary>The form's fields to post again (one value each), without its antiforgery token and its confirmation.</summary>
    public static IReadOnlyList<(string Name, string Value)> Resent(this IFormCollection form) =>
        [.. form.Where(f => f.Key is not (WebPage.CsrfField or ConfirmField)).Select(f => (f.Key, f.Value.ToString()))];
}
